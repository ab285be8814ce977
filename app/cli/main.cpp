// tunebench-cli: the headless front end. Parses the global options and dispatches to a sub-command;
// every sub-command drives tunebench_core, the same objects the GUI drives.
#include "cli/args.h"
#include "cli/commands.h"
#include "core/runtime/blascore.h"
#include "core/runtime/runtime.h"
#include "core/util/error.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

using namespace tunebench::cli;

void printUsage(std::FILE *out)
{
  std::fprintf(out, "usage: tunebench-cli [--threads N] <command> [options]\n"
                    "       tunebench-cli --version | --help | help COMMAND | COMMAND --help\n\ncommands:\n");
  for (const Command &c : commands())
    std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\nenvironment: TUNEBENCH_THREADS, TUNEBENCH_WORKSPACE, TUNEBENCH_ASSETS\n");
}

// Runs a command; its --help prints the usage line, the options (or sub-commands) and an example.
int runCommand(const Command &c, const std::vector<std::string> &args)
{
  try {
    return c.run(args);
  } catch (const HelpRequested &help) {
    std::printf("usage: tunebench-cli %s %s\n\n%s:\n%s\nexample:\n  %s\n", c.name, c.summary,
                help.heading().c_str(), help.text().c_str(), c.example);
    return ExitOk;
  }
}

} // namespace

int main(int argc, char **argv)
{
  tunebench::reexecWithTunedRuntime(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    tunebench::RuntimeOptions options = tunebench::runtimeOptionsFromEnvironment();
    // Global options come before the command name.
    while (!args.empty() && args.front().rfind("--", 0) == 0) {
      const std::string option = args.front();
      if (option == "--help" || option == "-h") {
        printUsage(stdout);
        return ExitOk;
      }
      if (option == "--version") {
        args.front() = "version";
        break;
      }
      if (option == "--threads" || option.rfind("--threads=", 0) == 0) {
        std::vector<std::string> slice{option};
        args.erase(args.begin());
        if (option == "--threads" && !args.empty()) {
          slice.push_back(args.front());
          args.erase(args.begin());
        }
        options.threads = *Args(slice, {{"threads", true, ""}}).intValue("threads");
        continue;
      }
      throw UsageError("unknown global option " + option + " (see tunebench-cli --help)");
    }
    if (args.empty()) {
      printUsage(stderr);
      return ExitUsage;
    }
    tunebench::configureRuntime(options);

    std::string name = args.front();
    args.erase(args.begin());
    if (name == "help") { // `help CMD` is `CMD --help`
      if (args.empty()) {
        printUsage(stdout);
        return ExitOk;
      }
      if (args.front() == "--man" || args.front() == "--bash-completion") {
        std::cout << (args.front() == "--man" ? manPage(TUNEBENCH_APP_VERSION) : bashCompletion());
        return ExitOk;
      }
      name = args.front();
      args = {"--help"};
    }
    for (const Command &c : commands())
      if (name == c.name)
        return runCommand(c, args);
    std::vector<std::string> names;
    for (const Command &c : commands())
      names.emplace_back(c.name);
    const std::string suggestion = closestMatch(name, names);
    std::cerr << "tunebench-cli: unknown command \"" << name << "\""
              << (suggestion.empty() ? "" : " (did you mean \"" + suggestion + "\"?)")
              << "; see tunebench-cli --help\n";
    return ExitUsage;
  } catch (const UsageError &e) {
    std::cerr << "tunebench-cli: " << e.what() << '\n';
    return ExitUsage;
  } catch (const tunebench::Error &e) {
    std::cerr << "tunebench-cli: " << e.what() << '\n';
    return ExitBadInput;
  } catch (const c10::Error &e) {
    // LibTorch's own errors: one line, without its C++ backtrace.
    std::cerr << "tunebench-cli: " << e.what_without_backtrace() << '\n';
    return ExitFailure;
  } catch (const std::exception &e) {
    // Anything else is a bug in tunebench, not in the user's input: still one line, no trace.
    std::cerr << "tunebench-cli: internal error: " << e.what() << '\n';
    return ExitFailure;
  }
}
