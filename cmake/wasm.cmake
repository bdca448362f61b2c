# The WebAssembly build (`make wasm` into build-wasm/; docs/web.md), with
# Debian's emscripten: the same C code as natively for base, wire, the mesh
# (multiplayer) and the signaling client core, on the browser's bottom
# (src/web: rtc.h over RTCPeerConnection, the WebSocket, clock, random, JSON).
#
#   libpeermesh.a   the library
#   peermesh.js     its JavaScript half: link with --js-library peermesh.js
#   web/            the demo page (examples/web): index.html, .js, .wasm
#   tests           Node.js unit tests of the browser bottom (tests/web/unit)

# What the browser cannot run: the native stack under rtc.h (ICE, DTLS,
# SCTP, sockets: src/rtc but its ICE URL parser), ENet (and the signaling
# client's ENet transport), the socket shells of the signaling server and
# client, and jansson (the browser's JSON.parse
# stands in: src/web/json_web.c).
set(PM_WASM_LAYERS base wire rtc multiplayer rpc signaling web)
set(PM_WASM_EXCLUDE
    "src/wire/signal_json_jansson[.]c"
    "src/rtc/(channel|jsep|peer|socket_mode|transport)[.]c"
    "src/multiplayer/enet_.*[.]c"
    "src/multiplayer/wsmp[.]c"
    "src/signaling/(server|client|sig_client_enet)[.]c")

add_compile_options(-Os -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes
                    -Wmissing-prototypes -fno-strict-aliasing)
if(PM_WERROR)
  add_compile_options(-Werror)
endif()

# As natively, each layer sees only its include root (build-wasm/layers/NAME,
# from src/layers.txt, made by CMakeLists.txt).
set(PM_WASM_OBJECTS)
foreach(layer IN LISTS PM_WASM_LAYERS)
  file(GLOB src CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${layer}/*.c)
  foreach(pattern IN LISTS PM_WASM_EXCLUDE)
    list(FILTER src EXCLUDE REGEX "${CMAKE_SOURCE_DIR}/${pattern}$")
  endforeach()
  add_library(pm_${layer} OBJECT ${src})
  target_include_directories(pm_${layer} PRIVATE ${CMAKE_BINARY_DIR}/layers/${layer}
                             PUBLIC ${CMAKE_SOURCE_DIR}/include)
  target_compile_definitions(pm_${layer} PRIVATE PM_BUILDING_LIBRARY _DEFAULT_SOURCE)
  list(APPEND PM_WASM_OBJECTS $<TARGET_OBJECTS:pm_${layer}>)
endforeach()
add_library(peermesh_static STATIC ${PM_WASM_OBJECTS})
set_target_properties(peermesh_static PROPERTIES OUTPUT_NAME peermesh)
target_include_directories(peermesh_static PUBLIC ${CMAKE_SOURCE_DIR}/include)

# The JavaScript half, one file for users' --js-library.
set(PM_WASM_JS_PARTS common rtc ws json)
set(PM_WASM_JS ${CMAKE_BINARY_DIR}/peermesh.js)
set(parts)
foreach(p IN LISTS PM_WASM_JS_PARTS)
  list(APPEND parts ${CMAKE_SOURCE_DIR}/src/web/js/${p}.js)
endforeach()
add_custom_command(OUTPUT ${PM_WASM_JS} COMMAND cat ${parts} > ${PM_WASM_JS} DEPENDS ${parts}
                   COMMENT "peermesh.js: the JavaScript half of the library")
add_custom_target(peermesh_js ALL DEPENDS ${PM_WASM_JS})
add_dependencies(peermesh_static peermesh_js)

# Link options every program of this build shares.
set(PM_WASM_LINK --js-library ${PM_WASM_JS} -sALLOW_MEMORY_GROWTH=1 -sSTRICT=1)

# ---- the demo page (examples/web) ----
file(GLOB PM_DEMO_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/examples/web/*.c
     ${CMAKE_SOURCE_DIR}/examples/web/page/*.c)
list(FILTER PM_DEMO_SRC EXCLUDE REGEX "/cmd_[^/]*[.]c$") # the native tool's commands
set(PM_WEB_DIR ${CMAKE_BINARY_DIR}/web)
add_executable(peermesh_demo ${PM_DEMO_SRC})
set_target_properties(peermesh_demo PROPERTIES OUTPUT_NAME peermesh-demo SUFFIX .js
                      RUNTIME_OUTPUT_DIRECTORY ${PM_WEB_DIR})
target_include_directories(peermesh_demo PRIVATE ${CMAKE_SOURCE_DIR}/examples/web)
target_link_libraries(peermesh_demo PRIVATE peermesh_static)
target_link_options(peermesh_demo PRIVATE ${PM_WASM_LINK} -sENVIRONMENT=web
                    "-sEXPORTED_FUNCTIONS=_main,_demo_status_json,_demo_say"
                    -sEXPORTED_RUNTIME_METHODS=ccall)
set_property(TARGET peermesh_demo APPEND PROPERTY LINK_DEPENDS ${PM_WASM_JS})
add_custom_command(OUTPUT ${PM_WEB_DIR}/index.html
                   COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_SOURCE_DIR}/examples/web/page/index.html
                           ${PM_WEB_DIR}/index.html
                   DEPENDS ${CMAKE_SOURCE_DIR}/examples/web/page/index.html)
add_custom_target(peermesh_demo_page ALL DEPENDS ${PM_WEB_DIR}/index.html)

# ---- Node.js unit tests (tests/web/unit): the browser bottom on fake browser objects ----
if(PM_TESTS)
  enable_testing()
  set(PM_FAKE_BROWSER ${CMAKE_SOURCE_DIR}/tests/web/unit/fake_browser.js)
  file(GLOB PM_WASM_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/web/unit/test_*.c)
  foreach(src IN LISTS PM_WASM_TESTS)
    get_filename_component(name ${src} NAME_WE)
    add_executable(wasm_${name} ${src} ${CMAKE_SOURCE_DIR}/tests/web/unit/check.c)
    set_target_properties(wasm_${name} PROPERTIES OUTPUT_NAME ${name} SUFFIX .js)
    target_include_directories(wasm_${name} PRIVATE ${CMAKE_SOURCE_DIR}/src
                               ${CMAKE_SOURCE_DIR}/tests/web/unit ${CMAKE_SOURCE_DIR}/tests/support)
    target_link_libraries(wasm_${name} PRIVATE peermesh_static)
    # One file (no fetch of the .wasm), the fakes before the program, exit code kept.
    target_link_options(wasm_${name} PRIVATE ${PM_WASM_LINK} -sENVIRONMENT=node -sSINGLE_FILE=1
                        -sEXIT_RUNTIME=1 -sASYNCIFY=1 --pre-js ${PM_FAKE_BROWSER})
    set_property(TARGET wasm_${name} APPEND PROPERTY LINK_DEPENDS ${PM_WASM_JS} ${PM_FAKE_BROWSER})
    add_test(NAME wasm/${name} COMMAND node ${CMAKE_BINARY_DIR}/${name}.js)
    set_tests_properties(wasm/${name} PROPERTIES LABELS wasm TIMEOUT 60)
  endforeach()
endif()
