#pragma once

#include <stdexcept>
#include <string>

namespace tunebench {

// The one exception type core throws for problems a user can fix (a bad file, a bad config value,
// a missing library). what() is a complete, single-line message that names the file, line and
// field where they are known; the CLI prints it as is and the GUI shows it in a dialog.
class Error : public std::runtime_error
{
public:
  explicit Error(const std::string &message) : std::runtime_error(message) {}
};

} // namespace tunebench
