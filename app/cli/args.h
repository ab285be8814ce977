#pragma once

#include "core/util/error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tunebench::cli {

// A bad command line (unknown option or sub-command, a missing or malformed argument): the CLI
// prints the message and exits 2 (ExitUsage), where a bad file or config exits 3.
class UsageError : public tunebench::Error
{
public:
  using Error::Error;
};

// Thrown when a command line asks for --help (or -h): `text` is the block to print under
// `heading` (the options with their help, or a command's sub-commands). The CLI prints it with the
// command's usage line and example and exits 0. `words` are what may follow on the command line
// (the options as `--name`, or the sub-commands' names): the man page and shell completion use them.
class HelpRequested : public std::exception
{
public:
  HelpRequested(std::string heading, std::string text, std::vector<std::string> words)
    : m_heading(std::move(heading))
    , m_text(std::move(text))
    , m_words(std::move(words))
  {}
  const char *what() const noexcept override { return "help requested"; }
  const std::string &heading() const { return m_heading; }
  const std::string &text() const { return m_text; }
  const std::vector<std::string> &words() const { return m_words; }
  bool listsSubcommands() const { return !m_words.empty() && m_words.front().rfind("--", 0) != 0; }

private:
  std::string m_heading, m_text;
  std::vector<std::string> m_words;
};

// Command-line arguments after the sub-command: `--name value`, `--name=value`, `--flag`, and
// positionals. Options are declared up front so that a typo is an error with a suggestion.
class Args final
{
public:
  struct Option
  {
    std::string name;      // without the leading "--"
    bool takesValue = false;
    std::string help; // empty: accepted but not listed by --help (test and benchmark helpers)
  };

  // Throws UsageError for unknown options or a missing value, HelpRequested (listing `options`)
  // when argv holds --help or -h.
  Args(const std::vector<std::string> &argv, const std::vector<Option> &options);

  bool has(const std::string &name) const { return m_values.count(name) > 0; }
  std::optional<std::string> value(const std::string &name) const;
  // Parses an integer option of at least `minimum` (1: a positive integer); throws UsageError
  // naming the option otherwise.
  std::optional<int> intValue(const std::string &name, int minimum = 1) const;
  const std::vector<std::string> &positionals() const { return m_positionals; }

private:
  std::map<std::string, std::string> m_values;
  std::vector<std::string> m_positionals;
};

// Run ids (integers) from args[from...]; UsageError naming the first that is not one.
std::vector<std::int64_t> runIds(const std::vector<std::string> &args, std::size_t from);

// Closest candidate by edit distance, for "did you mean" messages; empty when nothing is close.
std::string closestMatch(const std::string &word, const std::vector<std::string> &candidates);

// `--set key=value` (repeatable) pulled out of argv before the other options are parsed.
std::vector<std::string> takeOverrides(std::vector<std::string> &argv);
// Every value of a repeatable option (--name v or --name=v), removed from argv.
std::vector<std::string> takeRepeated(std::vector<std::string> &argv, const std::string &name);

} // namespace tunebench::cli
