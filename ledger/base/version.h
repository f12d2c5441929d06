#pragma once
// lovebank's version (CMake's project(VERSION)), for the --version of lovebankd, lovebank and
// lovebank-audit. Compiled into version.cc alone, so a version bump rebuilds one file.

#include <string_view>

namespace lovebank {

// e.g. "0.1.0"
std::string_view Version();

}  // namespace lovebank
