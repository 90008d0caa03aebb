# Builds the web console (web/ -> web/dist) for cmake/embed_web.cmake, then writes STAMP into
# web/dist. Every build directory (build/, build-asan/) depends on that one stamp, so the
# console is built once for all of them. `npm ci` runs only when web/node_modules is missing or
# older than web/package-lock.json.
# Called as: cmake -DWEB=dir -DNPM=npm -DSTAMP=file -P build_web.cmake
set(hint "or configure with -DPATRON_WEB=OFF to build patron without the web console")
if(NOT EXISTS "${WEB}/node_modules" OR "${WEB}/package-lock.json" IS_NEWER_THAN "${WEB}/node_modules")
  message(STATUS "npm ci in web/")
  execute_process(COMMAND "${NPM}" ci --no-audit --no-fund --loglevel=error
                  WORKING_DIRECTORY "${WEB}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "npm ci in web/ failed (see above); fix it, ${hint}")
  endif()
  file(TOUCH "${WEB}/node_modules")
endif()
execute_process(COMMAND "${NPM}" run build WORKING_DIRECTORY "${WEB}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT EXISTS "${WEB}/dist/index.html")
  message(FATAL_ERROR "the web console did not build (npm run build in web/, see above); fix it, ${hint}")
endif()
file(TOUCH "${STAMP}")
