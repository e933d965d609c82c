// The rendezvous server under hostile clients: silent, random bytes, a huge claimed length, a
// wrong token. Each is refused with a logged reason, and the job's ranks are served meanwhile.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "graph/errors.h"
#include "nodes/reduce/key_value_server.h"
#include "nodes/reduce/rendezvous_store.h"

namespace {

using capflow::reduce::KeyValueServer;
using capflow::reduce::Message;
using capflow::reduce::RendezvousStore;
using capflow::reduce::ServerOptions;
using namespace std::chrono_literals;

// The server's log lines, kept for the test to read.
struct Log {
  std::mutex mutex;
  std::vector<std::string> lines;
  ServerOptions options(std::chrono::milliseconds hello_timeout = 30s) {
    ServerOptions o;
    o.hello_timeout = hello_timeout;
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mutex);
      lines.push_back(line);
    };
    return o;
  }
  bool has(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& l : lines)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }
};

// A raw TCP client of the server on loopback, with a 10 s receive timeout.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() { ::close(fd_); }
  void send_bytes(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // The refusal the server sends before it hangs up, then the end of the stream.
  std::string refusal() {
    Message reply;
    EXPECT_TRUE(capflow::reduce::receive_message(fd_, reply));
    EXPECT_FALSE(capflow::reduce::receive_message(fd_, reply)) << "still connected";
    return reply.size() == 2 && reply[0] == "error" ? reply[1] : "(no refusal)";
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

std::string u32(std::uint32_t v) {
  std::string out;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

// A rank of the job gets its work done while the hostile client is connected.
void expect_ranks_served(int port) {
  auto a = c10::make_intrusive<RendezvousStore>("127.0.0.1", port, "t", 5000ms);
  auto b = c10::make_intrusive<RendezvousStore>("127.0.0.1", port, "t", 5000ms);
  a->set_text("k", "v");
  EXPECT_EQ(b->get_text("k"), "v");
}

TEST(RendezvousHostile, ASilentClientIsDroppedAfterTheHelloTimeoutAndStallsNobody) {
  Log log;
  KeyValueServer server("127.0.0.1", 0, capflow::reduce::token_digest("t"), log.options(500ms));
  RawClient silent(server.port());
  expect_ranks_served(server.port());
  EXPECT_NE(silent.refusal().find("no complete hello"), std::string::npos);
  EXPECT_TRUE(log.has("refused a client from 127.0.0.1:")) << "no log line";
  EXPECT_TRUE(log.has("sent no complete hello within 500 ms"));
}

TEST(RendezvousHostile, ASilentClientDoesNotHoldUpTheServersEnd) {
  Log log;
  auto server = std::make_unique<KeyValueServer>("127.0.0.1", 0, "", log.options(60s));
  RawClient silent(server->port());
  const auto start = std::chrono::steady_clock::now();
  server.reset();  // must not wait the minute out (the test's TIMEOUT would end it)
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

TEST(RendezvousHostile, RandomBytesAreRefusedAsMalformed) {
  Log log;
  KeyValueServer server("127.0.0.1", 0, capflow::reduce::token_digest("t"), log.options());
  std::mt19937 random(14);
  std::string noise(4096, '\0');
  for (auto& c : noise) c = static_cast<char>(random() | 0x80);  // a count far over the limit
  RawClient client(server.port());
  client.send_bytes(noise);
  EXPECT_NE(client.refusal().find("malformed rendezvous message"), std::string::npos);
  EXPECT_TRUE(log.has("malformed rendezvous message (claims"));
  expect_ranks_served(server.port());
}

TEST(RendezvousHostile, AHugeClaimedLengthIsRefusedWithoutAllocating) {
  Log log;
  KeyValueServer server("127.0.0.1", 0, capflow::reduce::token_digest("t"), log.options());
  RawClient client(server.port());
  client.send_bytes(u32(2) + u32(5) + "hello" + u32(0xfffffff0u));  // then nothing
  EXPECT_NE(client.refusal().find("claims a part of 4294967280 bytes"), std::string::npos);
  EXPECT_TRUE(log.has("claims a part of 4294967280 bytes"));
  expect_ranks_served(server.port());
}

TEST(RendezvousHostile, AWrongTokenIsRefusedAndLogged) {
  Log log;
  KeyValueServer server("127.0.0.1", 0, capflow::reduce::token_digest("t"), log.options());
  RawClient client(server.port());
  capflow::reduce::send_message(client.fd(), {"hello", capflow::reduce::token_digest("other")});
  EXPECT_NE(client.refusal().find("job token differs"), std::string::npos);
  EXPECT_TRUE(log.has("job token differs"));
  RawClient rude(server.port());  // an operation before the hello
  capflow::reduce::send_message(rude.fd(), {"set", "k", "v"});
  EXPECT_NE(rude.refusal().find("did not say hello"), std::string::npos);
  expect_ranks_served(server.port());
  EXPECT_THROW(RendezvousStore("127.0.0.1", server.port(), "other", 2000ms), capflow::CommError);
}

// Many hostile clients at once, then the ranks: every one refused, none left connected.
TEST(RendezvousHostile, AFloodOfBadClientsLeavesTheServerWorking) {
  Log log;
  KeyValueServer server("127.0.0.1", 0, capflow::reduce::token_digest("t"), log.options());
  for (int i = 0; i < 200; ++i) {
    RawClient client(server.port());
    client.send_bytes(u32(1) + u32(3) + "bad");
    EXPECT_NE(client.refusal().find("did not say hello"), std::string::npos);
  }
  expect_ranks_served(server.port());
}

}  // namespace

// The other way round: a store whose server (or something pretending to be one) answers with
// replies missing their value, or with a count that is not a number, fails with a CommError
// naming the operation, not with std::out_of_range or std::invalid_argument.
namespace {

// Accepts one client on loopback and answers every message with the replies given, in order.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<Message> replies) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 1);
    thread_ = std::thread([this, replies = std::move(replies)] {
      const int client = ::accept(fd_, nullptr, nullptr);
      Message request;
      for (const Message& reply : replies) {
        if (!capflow::reduce::receive_message(client, request)) break;
        capflow::reduce::send_message(client, reply);
      }
      ::close(client);
    });
  }
  ~ScriptedServer() {
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST(RendezvousHostile, MalformedRepliesBecomeCommErrorsNamingTheOperation) {
  ScriptedServer server({{"ok"}, {"ok"}, {"ok", "12x"}, {"ok"}});
  auto store = c10::make_intrusive<RendezvousStore>("127.0.0.1", server.port(), "t", 5000ms);
  const auto expect_comm_error = [](const std::function<void()>& call, const std::string& op) {
    try {
      call();
      ADD_FAILURE() << op << ": no error";
    } catch (const capflow::CommError& e) {
      EXPECT_NE(std::string(e.what()).find("'" + op + "'"), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << op << ": not a CommError: " << e.what();
    }
  };
  expect_comm_error([&] { store->add("k", 1); }, "add");       // {"ok"}: no value
  expect_comm_error([&] { store->add("k", 1); }, "add");       // "12x": not an integer
  expect_comm_error([&] { store->getNumKeys(); }, "numkeys");  // {"ok"}: no value
}
