# Every .cpp under src/ except main.cpp and *_test.cpp belongs to the core
# library; *_test.cpp files form the unit-test binary.
file(GLOB_RECURSE POSTERN_ALL_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/*.cpp)
set(POSTERN_SOURCES)
set(POSTERN_TEST_SOURCES)
foreach(f ${POSTERN_ALL_SOURCES})
  if(f MATCHES "_test\\.cpp$")
    list(APPEND POSTERN_TEST_SOURCES ${f})
  elseif(NOT f MATCHES "/src/app/main\\.cpp$")
    list(APPEND POSTERN_SOURCES ${f})
  endif()
endforeach()
