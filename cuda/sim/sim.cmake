# Builds .cu kernel sources with the host C++ compiler through the CUDA simulator (cuda_sim.h),
# so the CUDA code runs and is tested on machines without a GPU.
#
# The same .cu files may also be sources of an nvcc target in this directory, so their own
# properties (LANGUAGE, options) are left alone: each gets a generated wrapper .cc in the binary
# dir that #includes it, and the wrappers are compiled with -include cuda_sim.h.

set(FL_SIM_DIR "${CMAKE_CURRENT_LIST_DIR}")
get_filename_component(FL_SIM_ROOT "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
find_package(Threads REQUIRED)

# The simulator's runtime, once for all simulated targets (one copy of its per-thread state).
if(NOT TARGET fl_sim_runtime)
  add_library(fl_sim_runtime STATIC "${FL_SIM_DIR}/sim.cc")
  target_include_directories(fl_sim_runtime PUBLIC "${FL_SIM_DIR}")
  target_link_libraries(fl_sim_runtime PUBLIC Threads::Threads)
  target_compile_options(fl_sim_runtime PRIVATE -Wall -Wextra)
endif()

# Adds the simulated sources of <.cu files...> (relative to the current source dir or absolute)
# to <target>: one wrapper .cc each, compiled as C++ with FL_SIM=1 and the simulator header.
function(_fl_sim_add_sources target)
  foreach(src IN LISTS ARGN)
    get_filename_component(abs "${src}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    file(RELATIVE_PATH rel "${FL_SIM_ROOT}" "${abs}")
    string(MAKE_C_IDENTIFIER "${rel}" id)
    set(wrapper "${CMAKE_CURRENT_BINARY_DIR}/fl_sim/${target}/${id}.cc")
    # CONFIGURE rewrites the file only when its content changes: no needless rebuilds.
    file(CONFIGURE OUTPUT "${wrapper}" CONTENT "#include \"${abs}\"\n" @ONLY)
    set_source_files_properties("${wrapper}" PROPERTIES
      COMPILE_OPTIONS "-include;${FL_SIM_DIR}/cuda_sim.h"
      OBJECT_DEPENDS "${FL_SIM_DIR}/cuda_sim.h;${abs}")
    target_sources(${target} PRIVATE "${wrapper}")
  endforeach()
  target_compile_definitions(${target} PRIVATE FL_SIM=1)
  target_include_directories(${target} PUBLIC "${FL_SIM_ROOT}/cuda" "${FL_SIM_ROOT}/binding/include")
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  target_link_libraries(${target} PUBLIC fl_sim_runtime)
endfunction()

# fl_add_sim_library(<target> <.cu sources...>): a STATIC library of the simulated kernels
# (namespace fl::sim). It links fl_sim_runtime (sim.cc), so linking <target> brings the runtime.
function(fl_add_sim_library target)
  add_library(${target} STATIC)
  _fl_sim_add_sources(${target} ${ARGN})
endfunction()

# fl_add_sim_selftest(): the simulator's self-test executable `sim_selftest` and its ctest
# entry (call enable_testing() first).
function(fl_add_sim_selftest)
  add_executable(sim_selftest)
  _fl_sim_add_sources(sim_selftest "${FL_SIM_ROOT}/test/native/sim_selftest.cu")
  add_test(NAME sim_selftest COMMAND sim_selftest)
endfunction()
