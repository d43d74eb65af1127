# The CUDA sources, compiled wherever nvcc is found even without a GPU or a CUDA LibTorch, so
# that they cannot rot on CPU-only machines (CI builds them here; bench/gpu_check.sh runs them
# on a GPU machine):
#   wna_noise_cuda         the noise kernel (src/noise/noise_cuda.cu), a static library
#   wna_check_noise_cuda   its check against the CPU generator and speed test (tests/cuda/)
#   wna_nccl_compile_check the NCCL reducer (src/reduce/nccl_reducer_nccl.cpp) compiled, not
#                          linked (-DWNA_WITH_NCCL=ON links it into wna::reduce)
#   wna_device_noise_compile_check  the GPU ranks' noise (src/engine/device_noise.cpp) with its
#                          CUDA kernel call compiled, not linked (-DWNA_WITH_CUDA=ON builds it
#                          into wna::engine)
# -DWNA_CUDA_KERNELS=OFF skips them; CMAKE_CUDA_ARCHITECTURES defaults to 90 (H100, H200).
option(WNA_CUDA_KERNELS "compile the CUDA kernels and the NCCL reducer when nvcc is found" ON)
if(NOT WNA_CUDA_KERNELS)
  return()
endif()
if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
  set(ENV{CUDACXX} /usr/local/cuda/bin/nvcc)  # not on PATH in Debian's layout; check_language tries it
endif()
include(CheckLanguage)
check_language(CUDA)  # a compiler that cannot build a test program is left out, not an error
if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "CUDA kernels: no nvcc found, not compiled")
  return()
endif()
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  # sm_90 (H100, H200) where this nvcc knows it; an older one keeps its own default.
  execute_process(COMMAND ${CMAKE_CUDA_COMPILER} --list-gpu-arch OUTPUT_VARIABLE nvcc_architectures
                  ERROR_QUIET RESULT_VARIABLE listed)
  if(listed EQUAL 0 AND nvcc_architectures MATCHES "compute_90")
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
endif()
enable_language(CUDA)
find_package(CUDAToolkit)
if(NOT CUDAToolkit_FOUND)
  message(STATUS "CUDA kernels: nvcc found but not the CUDA toolkit's libraries, not compiled")
  return()
endif()
message(STATUS "CUDA kernels: ${CMAKE_CUDA_COMPILER} ${CMAKE_CUDA_COMPILER_VERSION}, sm_${CMAKE_CUDA_ARCHITECTURES}")

add_library(wna_noise_cuda STATIC ${CMAKE_SOURCE_DIR}/src/noise/noise_cuda.cu)
target_include_directories(wna_noise_cuda PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
                                                $<INSTALL_INTERFACE:include> ${RANDOM123_INCLUDE_DIR})
target_link_libraries(wna_noise_cuda PUBLIC CUDA::cudart)
# No fused multiply-adds, as on the host (-ffp-contract=off on wna::noise): single-precision
# gaussian noise is then the host's bits, double-precision as close as CUDA's libm allows.
target_compile_options(wna_noise_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--fmad=false>)
set_target_properties(wna_noise_cuda PROPERTIES CUDA_STANDARD 17 POSITION_INDEPENDENT_CODE ON)

# The check compiles the CPU generator itself instead of linking wna::noise, so that it needs no
# LibTorch, MPI or HDF5: bench/gpu_check.sh builds it with nvcc alone on a bare GPU machine.
add_executable(wna_check_noise_cuda ${CMAKE_SOURCE_DIR}/tests/cuda/check_noise_cuda.cu
                                    ${CMAKE_SOURCE_DIR}/src/noise/noise.cpp
                                    ${CMAKE_SOURCE_DIR}/src/noise/white_noise.cpp
                                    ${CMAKE_SOURCE_DIR}/src/noise/white_noise_avx2.cpp
                                    ${CMAKE_SOURCE_DIR}/src/noise/structured_noise.cpp)
target_link_libraries(wna_check_noise_cuda PRIVATE wna_noise_cuda)
target_compile_options(wna_check_noise_cuda PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${WNA_WARNINGS} -ffp-contract=off>)
set_target_properties(wna_check_noise_cuda PROPERTIES CUDA_STANDARD 17)

if(NOT WNA_WITH_CUDA)
  add_library(wna_device_noise_compile_check OBJECT ${CMAKE_SOURCE_DIR}/src/engine/device_noise.cpp)
  target_link_libraries(wna_device_noise_compile_check PRIVATE wna::engine wna_noise_cuda)
  target_compile_definitions(wna_device_noise_compile_check PRIVATE WNA_WITH_CUDA=1)
  target_compile_options(wna_device_noise_compile_check PRIVATE ${WNA_WARNINGS})
endif()

find_path(WNA_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
if(WNA_NCCL_INCLUDE_DIR)
  add_library(wna_nccl_compile_check OBJECT ${CMAKE_SOURCE_DIR}/src/reduce/nccl_reducer_nccl.cpp)
  target_link_libraries(wna_nccl_compile_check PRIVATE wna::reduce CUDA::cudart)
  target_include_directories(wna_nccl_compile_check PRIVATE ${WNA_NCCL_INCLUDE_DIR})
  target_compile_definitions(wna_nccl_compile_check PRIVATE WNA_WITH_NCCL=1)
  target_compile_options(wna_nccl_compile_check PRIVATE ${WNA_WARNINGS})
else()
  message(STATUS "CUDA kernels: nccl.h not found, the NCCL reducer is not compiled")
endif()
