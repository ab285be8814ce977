#pragma once

#include <filesystem>

namespace tunebench {

// The workspace used when none is given: $TUNEBENCH_WORKSPACE, else
// $XDG_DATA_HOME/tunebench/workspace (~/.local/share/tunebench/workspace).
std::filesystem::path defaultWorkspaceDir();

// Where fetched assets (models, tokenizers, datasets) live: $TUNEBENCH_ASSETS, else
// $XDG_DATA_HOME/tunebench/assets. ./run.sh points it at the checkout's git-ignored assets/.
std::filesystem::path assetsDir();

// Whether `dir` holds what the default experiment needs (USE-Lite and the sentiment data): the CLI's
// doctor and the GUI's Start tab offer `tunebench-cli fetch-assets` when it does not.
bool assetsPresent(const std::filesystem::path &dir);

// The folder of the running executable (from /proc/self/exe).
std::filesystem::path executableDir();

} // namespace tunebench
