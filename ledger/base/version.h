#pragma once
// lovebank's version (CMake's project(VERSION)), for the --version of lovebankd, lovebank and
// lovebank-audit. Compiled into version.cc alone, so a version bump rebuilds one file.

#include <string>
#include <string_view>

namespace lovebank {

// e.g. "0.1.0"
std::string_view Version();

// What `--version` prints for `program`: "lovebankd 0.1.0 (commit 890bd3b1a2c4, RelWithDebInfo)"
// — the version, the commit built ("-dirty" with uncommitted changes) and the build type.
std::string VersionText(std::string_view program);

}  // namespace lovebank
