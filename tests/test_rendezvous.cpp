// The rendezvous store: c10d::Store operations, the job token, and where it listens.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "graph/errors.h"
#include "nodes/reduce/key_value_server.h"
#include "nodes/reduce/rendezvous_store.h"

namespace {

using capflow::reduce::KeyValueServer;
using capflow::reduce::RendezvousStore;
using namespace std::chrono_literals;

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

TEST(Rendezvous, StoreOperationsAcrossClients) {
  KeyValueServer server("127.0.0.1", 0, capflow::reduce::token_digest("t"));
  auto a = c10::make_intrusive<RendezvousStore>("127.0.0.1", server.port(), "t", 5000ms);
  auto b = c10::make_intrusive<RendezvousStore>("127.0.0.1", server.port(), "t", 5000ms);
  a->set("k", bytes("v"));
  EXPECT_EQ(b->get("k"), bytes("v"));
  EXPECT_EQ(a->add("n", 2), 2);
  EXPECT_EQ(b->add("n", 3), 5);
  EXPECT_TRUE(b->check({"k", "n"}));
  EXPECT_FALSE(b->check({"k", "missing"}));
  EXPECT_EQ(a->compareSet("c", bytes(""), bytes("1")), bytes("1"));   // created
  EXPECT_EQ(a->compareSet("c", bytes("x"), bytes("2")), bytes("1"));  // not swapped
  EXPECT_EQ(a->compareSet("c", bytes("1"), bytes("2")), bytes("2"));  // swapped
  EXPECT_EQ(a->getNumKeys(), 3);
  EXPECT_TRUE(a->deleteKey("c"));
  EXPECT_FALSE(a->deleteKey("c"));
  // get waits for a key another client sets later.
  std::thread later([&] {
    std::this_thread::sleep_for(200ms);
    a->set("late", bytes("here"));
  });
  EXPECT_EQ(b->get("late"), bytes("here"));
  later.join();
  // ... but not for ever.
  EXPECT_THROW(b->wait({"never"}, 300ms), capflow::CommError);
}

TEST(Rendezvous, AWrongTokenIsRefused) {
  KeyValueServer server("127.0.0.1", 0, capflow::reduce::token_digest("right"));
  try {
    RendezvousStore wrong("127.0.0.1", server.port(), "wrong", 2000ms);
    FAIL() << "expected a refusal";
  } catch (const capflow::CommError& e) {
    EXPECT_NE(std::string(e.what()).find("job token differs"), std::string::npos) << e.what();
  }
}

TEST(Rendezvous, NoServerIsAClearErrorAfterTheTimeout) {
  std::uint16_t port;
  {
    KeyValueServer server("127.0.0.1", 0, "");
    port = static_cast<std::uint16_t>(server.port());
  }
  try {
    RendezvousStore none("127.0.0.1", port, "", 500ms);
    FAIL() << "expected an error";
  } catch (const capflow::CommError& e) {
    EXPECT_NE(std::string(e.what()).find("no answer from rank 0"), std::string::npos) << e.what();
  }
}

// A loopback master listens on loopback only: /proc/net/tcp shows 127.0.0.1 (0100007F).
TEST(Rendezvous, ALoopbackMasterListensOnLoopbackOnly) {
  KeyValueServer server("127.0.0.1", 0, "");
  EXPECT_EQ(server.bound_address(), "127.0.0.1:" + std::to_string(server.port()));
  std::ifstream in("/proc/net/tcp");
  if (!in) GTEST_SKIP() << "no /proc/net/tcp here";
  char port_hex[8];
  std::snprintf(port_hex, sizeof port_hex, "%04X", server.port());
  bool found = false;
  for (std::string line; std::getline(in, line);) {
    if (line.find(std::string(":") + port_hex + " 00000000:0000 0A") == std::string::npos)
      continue;  // LISTEN
    found = true;
    EXPECT_NE(line.find("0100007F:" + std::string(port_hex)), std::string::npos) << line;
  }
  EXPECT_TRUE(found);
  EXPECT_THROW(KeyValueServer("127.0.0.1", server.port(), ""),
               capflow::CommError);  // port taken: named
}

}  // namespace
