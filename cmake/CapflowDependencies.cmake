# Finds every dependency of capflow by its own package config or pkg-config (RDKit: its
# libraries by name). A missing one stops configuration with the Debian package to install.
# `bash tools/setup.sh` installs all of them.

include(FindPackageHandleStandardArgs)

# A full build has everything. The GPU check (tools/gpu_check.sh) builds on a machine without
# a package registry from a few unpacked .deb files, so it leaves out what it does not need:
#   CAPFLOW_CHEMISTRY OFF: no RDKit, Cairo or Open Babel: no `capflow data make` (make the data
#     elsewhere), no InChI validity in evaluations; CAPFLOW_BENCH OFF: no capflow-bench.
option(CAPFLOW_CHEMISTRY "RDKit, Cairo and Open Babel: the dataset maker and InChI validity" ON)
option(CAPFLOW_BENCH "capflow-bench (Google Benchmark)" ON)
# CUDA: the cuda implementations of the model nodes are compiled when the Torch package found
# has CUDA (for example PyTorch's CUDA wheels, through
# -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')).
option(CAPFLOW_ENABLE_CUDA "compile the cuda node implementations when the Torch found has CUDA" ON)
find_package(PkgConfig)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "capflow: pkg-config not found. Install the Debian package 'pkg-config' "
                      "(or run: bash tools/setup.sh)")
endif()

function(capflow_missing what debian_package)
  message(FATAL_ERROR "capflow: ${what} not found. Install the Debian package "
                      "'${debian_package}' (or run: bash tools/setup.sh)")
endfunction()

# A CMake package config (find_package CONFIG).
macro(capflow_find_config name debian_package)
  find_package(${name} CONFIG QUIET ${ARGN})
  if(NOT ${name}_FOUND)
    capflow_missing("${name} (CMake package config)" ${debian_package})
  endif()
  message(STATUS "capflow: ${name} ${${name}_VERSION} found")
endmacro()

# A pkg-config module, exposed as the imported target PkgConfig::<prefix>.
macro(capflow_find_pkgconfig prefix module debian_package)
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET ${module})
  if(NOT ${prefix}_FOUND)
    capflow_missing("${module} (pkg-config module)" ${debian_package})
  endif()
  message(STATUS "capflow: ${module} ${${prefix}_VERSION} found")
endmacro()

capflow_find_config(TBB libtbb-dev)
capflow_find_config(yaml-cpp libyaml-cpp-dev)
capflow_find_config(nlohmann_json nlohmann-json3-dev)
capflow_find_config(CLI11 libcli11-dev)
capflow_find_config(GTest libgtest-dev)
if(CAPFLOW_BENCH)
  capflow_find_config(benchmark libbenchmark-dev)
endif()

# LibTorch's config prints noisy warnings on Debian (no CUDA, no kineto); keep it quiet.
find_package(Torch CONFIG QUIET)
if(NOT Torch_FOUND)
  capflow_missing("LibTorch (TorchConfig.cmake)" libtorch-dev)
endif()
message(STATUS "capflow: LibTorch ${Torch_VERSION} found")
if(TARGET torch_cuda OR CAFFE2_USE_CUDA OR TORCH_CUDA_LIBRARIES)
  set(CAPFLOW_TORCH_HAS_CUDA ON)
else()
  set(CAPFLOW_TORCH_HAS_CUDA OFF)
endif()
if(CAPFLOW_TORCH_HAS_CUDA AND CAPFLOW_ENABLE_CUDA)
  set(CAPFLOW_WITH_CUDA ON)
  message(STATUS "capflow: LibTorch has CUDA: the cuda node implementations are built")
else()
  set(CAPFLOW_WITH_CUDA OFF)
  message(STATUS "capflow: no CUDA (LibTorch has CUDA: ${CAPFLOW_TORCH_HAS_CUDA}): cpu nodes only")
endif()
# Debian's libraries use the C++11 ABI; a LibTorch built with the old one cannot link them.
if(TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  message(FATAL_ERROR "capflow: the LibTorch found (${Torch_DIR}) uses the pre-C++11 ABI "
                      "(_GLIBCXX_USE_CXX11_ABI=0) and cannot link Debian's libraries: use PyTorch "
                      ">= 2.7 wheels or a cxx11-abi LibTorch")
endif()
# LibTorch 2.13 and later need C++20.
if(Torch_VERSION VERSION_GREATER_EQUAL 2.13 AND CMAKE_CXX_STANDARD LESS 20)
  set(CMAKE_CXX_STANDARD 20)
endif()
# Debian's LibTorch (1.13, CPU) links the system BLAS and oneDNN: checked below. A LibTorch of
# its own (a PyTorch wheel) brings them inside.
if(Torch_DIR MATCHES "^/usr/lib/" AND NOT Torch_DIR MATCHES "-packages/")
  set(CAPFLOW_SYSTEM_TORCH ON)
else()
  set(CAPFLOW_SYSTEM_TORCH OFF)
endif()

capflow_find_pkgconfig(SPNG spng libspng-dev)
capflow_find_pkgconfig(TURBOJPEG libturbojpeg libturbojpeg0-dev)
if(CAPFLOW_CHEMISTRY)
  capflow_find_pkgconfig(CAIRO cairo libcairo2-dev)
  capflow_find_pkgconfig(OPENBABEL openbabel-3 libopenbabel-dev)
endif()

# oneDNN: Debian's dnnl-config.cmake demands OpenCL (its GPU runtime), so find the library and
# header by name; capflow_dnnl is the target to link.
add_library(capflow_dnnl INTERFACE)
if(CAPFLOW_SYSTEM_TORCH)
find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
find_library(DNNL_LIBRARY dnnl)
if(NOT DNNL_INCLUDE_DIR OR NOT DNNL_LIBRARY)
  capflow_missing("oneDNN (oneapi/dnnl/dnnl.hpp, libdnnl)" libdnnl-dev)
endif()
target_include_directories(capflow_dnnl SYSTEM INTERFACE ${DNNL_INCLUDE_DIR})
target_link_libraries(capflow_dnnl INTERFACE ${DNNL_LIBRARY})
message(STATUS "capflow: oneDNN found: ${DNNL_LIBRARY}")
endif()

# RDKit (the dataset maker): capflow_rdkit, empty without CAPFLOW_CHEMISTRY.
add_library(capflow_rdkit INTERFACE)
if(CAPFLOW_CHEMISTRY)
# Boost headers are needed by RDKit's headers.
find_path(CAPFLOW_BOOST_INCLUDE boost/config.hpp)
if(NOT CAPFLOW_BOOST_INCLUDE)
  capflow_missing("Boost headers (boost/config.hpp)" libboost-dev)
endif()

# RDKit ships no CMake config in Debian: its headers and libraries by name.
find_path(RDKIT_INCLUDE_DIR GraphMol/GraphMol.h PATH_SUFFIXES rdkit)
if(NOT RDKIT_INCLUDE_DIR)
  capflow_missing("RDKit headers (rdkit/GraphMol/GraphMol.h)" librdkit-dev)
endif()
target_include_directories(capflow_rdkit SYSTEM INTERFACE ${RDKIT_INCLUDE_DIR} ${CAPFLOW_BOOST_INCLUDE})
foreach(lib MolDraw2D Depictor ChemTransforms FileParsers SmilesParse SubstructMatch
            GraphMol RDGeometryLib RDGeneral)
  find_library(RDKIT_${lib}_LIBRARY RDKit${lib})
  if(NOT RDKIT_${lib}_LIBRARY)
    capflow_missing("RDKit library RDKit${lib}" librdkit-dev)
  endif()
  target_link_libraries(capflow_rdkit INTERFACE ${RDKIT_${lib}_LIBRARY})
endforeach()
target_link_libraries(capflow_rdkit INTERFACE PkgConfig::CAIRO)
target_compile_definitions(capflow_rdkit INTERFACE RDK_BUILD_CAIRO_SUPPORT)
message(STATUS "capflow: RDKit found in ${RDKIT_INCLUDE_DIR}")

# RDKit's fonts and molecule lists (default molecule sources of `capflow data make`).
find_path(CAPFLOW_RDKIT_DATA_DIR NCI/first_5K.smi PATHS /usr/share/RDKit/Data NO_DEFAULT_PATH)
if(NOT CAPFLOW_RDKIT_DATA_DIR)
  capflow_missing("RDKit data (/usr/share/RDKit/Data/NCI/first_5K.smi)" rdkit-data)
endif()
else()
  target_compile_definitions(capflow_rdkit INTERFACE CAPFLOW_NO_CHEMISTRY)
endif()  # CAPFLOW_CHEMISTRY

# LibTorch links libblas.so.3; without OpenBLAS that is the reference BLAS (10x slower).
find_file(CAPFLOW_OPENBLAS libblas.so.3 PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp
          NO_DEFAULT_PATH)
if(CAPFLOW_SYSTEM_TORCH AND NOT CAPFLOW_OPENBLAS)
  capflow_missing("OpenBLAS (OpenMP build)" libopenblas0-openmp)
endif()
