# Finds every dependency of capflow by its own package config or pkg-config (RDKit: its
# libraries by name). A missing one stops configuration with the Debian package to install.
# `bash tools/setup.sh` installs all of them.

include(FindPackageHandleStandardArgs)
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
capflow_find_config(benchmark libbenchmark-dev)

# LibTorch's config prints noisy warnings on Debian (no CUDA, no kineto); keep it quiet.
find_package(Torch CONFIG QUIET)
if(NOT Torch_FOUND)
  capflow_missing("LibTorch (TorchConfig.cmake)" libtorch-dev)
endif()
message(STATUS "capflow: LibTorch ${Torch_VERSION} found")

capflow_find_pkgconfig(SPNG spng libspng-dev)
capflow_find_pkgconfig(TURBOJPEG libturbojpeg libturbojpeg0-dev)
capflow_find_pkgconfig(CAIRO cairo libcairo2-dev)
capflow_find_pkgconfig(OPENBABEL openbabel-3 libopenbabel-dev)

# oneDNN: Debian's dnnl-config.cmake demands OpenCL (its GPU runtime), so find the library and
# header by name; capflow_dnnl is the target to link.
find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
find_library(DNNL_LIBRARY dnnl)
if(NOT DNNL_INCLUDE_DIR OR NOT DNNL_LIBRARY)
  capflow_missing("oneDNN (oneapi/dnnl/dnnl.hpp, libdnnl)" libdnnl-dev)
endif()
add_library(capflow_dnnl INTERFACE)
target_include_directories(capflow_dnnl SYSTEM INTERFACE ${DNNL_INCLUDE_DIR})
target_link_libraries(capflow_dnnl INTERFACE ${DNNL_LIBRARY})
message(STATUS "capflow: oneDNN found: ${DNNL_LIBRARY}")

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
add_library(capflow_rdkit INTERFACE)
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

# LibTorch links libblas.so.3; without OpenBLAS that is the reference BLAS (10x slower).
find_file(CAPFLOW_OPENBLAS libblas.so.3 PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp
          NO_DEFAULT_PATH)
if(NOT CAPFLOW_OPENBLAS)
  capflow_missing("OpenBLAS (OpenMP build)" libopenblas0-openmp)
endif()
