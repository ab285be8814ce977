#include "cli/args.h"

#include "core/util/error.h"

#include <algorithm>
#include <cstdlib>

namespace tunebench::cli {

namespace {

size_t editDistance(const std::string &a, const std::string &b)
{
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

} // namespace

std::vector<std::int64_t> runIds(const std::vector<std::string> &args, std::size_t from)
{
  std::vector<std::int64_t> out;
  for (std::size_t i = from; i < args.size(); ++i) {
    try {
      std::size_t used = 0;
      out.push_back(std::stoll(args[i], &used));
      if (used != args[i].size())
        throw std::invalid_argument("x");
    } catch (const std::exception &) {
      throw UsageError("\"" + args[i] + "\" is not a run id (see `runs list`)");
    }
  }
  return out;
}

std::string closestMatch(const std::string &word, const std::vector<std::string> &candidates)
{
  std::string best;
  size_t bestDistance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string &candidate : candidates) {
    const size_t d = editDistance(word, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

Args::Args(const std::vector<std::string> &argv, const std::vector<Option> &options)
{
  if (std::any_of(argv.begin(), argv.end(),
                  [](const std::string &a) { return a == "--help" || a == "-h"; })) {
    std::string text;
    std::vector<std::string> words;
    for (const Option &o : options) {
      if (o.help.empty())
        continue; // an option for tests and benchmarks, not listed
      words.push_back("--" + o.name);
      std::string flag = "--" + o.name + (o.takesValue ? " VALUE" : "");
      flag.resize(std::max<std::size_t>(flag.size() + 2, 24), ' ');
      text += "  " + flag + o.help + "\n";
    }
    throw HelpRequested("options", text.empty() ? "  (none)\n" : text, words);
  }
  std::vector<std::string> names;
  for (const Option &o : options)
    names.push_back(o.name);
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string &arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      m_positionals.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inlineValue;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      inlineValue = name.substr(eq + 1);
      name.resize(eq);
    }
    const auto option = std::find_if(options.begin(), options.end(),
                                      [&](const Option &o) { return o.name == name; });
    if (option == options.end()) {
      const std::string suggestion = closestMatch(name, names);
      throw UsageError("unknown option --" + name +
                       (suggestion.empty() ? std::string() : " (did you mean --" + suggestion + "?)"));
    }
    if (!option->takesValue) {
      if (inlineValue)
        throw UsageError("option --" + name + " takes no value");
      m_values[name] = "";
      continue;
    }
    if (!inlineValue) {
      if (i + 1 >= argv.size())
        throw UsageError("option --" + name + " needs a value");
      inlineValue = argv[++i];
    }
    m_values[name] = *inlineValue;
  }
}

std::optional<std::string> Args::value(const std::string &name) const
{
  const auto it = m_values.find(name);
  if (it == m_values.end())
    return std::nullopt;
  return it->second;
}

std::optional<int> Args::intValue(const std::string &name, int minimum) const
{
  const auto text = value(name);
  if (!text)
    return std::nullopt;
  char *end = nullptr;
  const long n = std::strtol(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || n < minimum || n > 1 << 20)
    throw UsageError("option --" + name + ": expected " +
                     (minimum == 1 ? std::string("a positive integer")
                                   : "an integer of at least " + std::to_string(minimum)) +
                     ", got \"" + *text + "\"");
  return static_cast<int>(n);
}

std::vector<std::string> takeOverrides(std::vector<std::string> &argv)
{
  std::vector<std::string> overrides, rest;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--set" && i + 1 < argv.size()) {
      overrides.push_back(argv[++i]);
    } else if (argv[i].rfind("--set=", 0) == 0) {
      overrides.push_back(argv[i].substr(6));
    } else {
      rest.push_back(argv[i]);
    }
  }
  for (const std::string &o : overrides)
    if (o.find('=') == std::string::npos || o.front() == '=')
      throw UsageError("--set " + o + ": expected key.path=value");
  argv = rest;
  return overrides;
}

std::vector<std::string> takeRepeated(std::vector<std::string> &argv, const std::string &name)
{
  std::vector<std::string> values, rest;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == "--" + name && i + 1 < argv.size())
      values.push_back(argv[++i]);
    else if (argv[i].rfind("--" + name + "=", 0) == 0)
      values.push_back(argv[i].substr(name.size() + 3));
    else
      rest.push_back(argv[i]);
  }
  argv = rest;
  return values;
}

} // namespace tunebench::cli
