# Every dependency comes from Debian's packages (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(date REQUIRED) # Howard Hinnant's date/tz (libhowardhinnant-date-dev): IANA time zones
find_package(GTest REQUIRED)
include(GoogleTest)

# cpp-httplib: Debian ships it compiled, with OpenSSL, zlib and brotli support, and a .pc file.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib>=0.11)
add_library(keyward_httplib INTERFACE)
target_link_libraries(keyward_httplib INTERFACE PkgConfig::HTTPLIB OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
