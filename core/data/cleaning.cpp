#include "core/data/cleaning.h"

#include "core/data/splits.h"
#include "core/tokenize/unicode.h"

#include <functional>
#include <map>
#include <unordered_set>

namespace tunebench {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Applies f to every text field of an example; true when something changed.
bool forEachText(Example &e, const std::function<std::string(const std::string &)> &f)
{
  bool changed = false;
  auto apply = [&](std::string &s) {
    if (s.empty())
      return;
    std::string t = f(s);
    if (t != s) {
      s = std::move(t);
      changed = true;
    }
  };
  for (std::string *s : {&e.text, &e.textPair, &e.instruction, &e.input, &e.output})
    apply(*s);
  for (ChatTurn &t : e.messages)
    apply(t.content);
  return changed;
}

std::string decodeEntity(const std::string &name)
{
  static const std::map<std::string, std::string> named = {
    {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", "\xC2\xA0"},
    {"copy", "\xC2\xA9"}, {"reg", "\xC2\xAE"}, {"mdash", "\xE2\x80\x94"}, {"ndash", "\xE2\x80\x93"},
    {"hellip", "\xE2\x80\xA6"}, {"rsquo", "\xE2\x80\x99"}, {"lsquo", "\xE2\x80\x98"}, {"ldquo", "\xE2\x80\x9C"},
    {"rdquo", "\xE2\x80\x9D"}, {"eacute", "\xC3\xA9"}, {"euro", "\xE2\x82\xAC"}};
  if (name.size() > 1 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    char *end = nullptr;
    const long cp = std::strtol(name.c_str() + (hex ? 2 : 1), &end, hex ? 16 : 10);
    if (*end != '\0' || cp <= 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return {};
    std::string out;
    unicode::append(out, static_cast<char32_t>(cp));
    return out;
  }
  const auto it = named.find(name);
  return it == named.end() ? std::string() : it->second;
}

bool urlStart(const std::string &t, std::size_t i)
{
  return t.compare(i, 7, "http://") == 0 || t.compare(i, 8, "https://") == 0 || t.compare(i, 4, "www.") == 0;
}

} // namespace

std::string stripHtml(const std::string &text)
{
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '<' && i + 1 < text.size() &&
        (std::isalpha(static_cast<unsigned char>(text[i + 1])) || text[i + 1] == '/' || text[i + 1] == '!')) {
      const std::size_t close = text.find('>', i);
      if (close != std::string::npos) {
        // Block-level tags separate words.
        out.push_back(' ');
        i = close + 1;
        continue;
      }
    }
    if (c == '&') {
      const std::size_t semi = text.find(';', i);
      if (semi != std::string::npos && semi - i <= 10) {
        const std::string decoded = decodeEntity(text.substr(i + 1, semi - i - 1));
        if (!decoded.empty()) {
          out += decoded;
          i = semi + 1;
          continue;
        }
      }
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

std::string maskUrls(const std::string &text)
{
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if ((i == 0 || isSpace(text[i - 1]) || text[i - 1] == '(' || text[i - 1] == '<') && urlStart(text, i)) {
      std::size_t end = i;
      while (end < text.size() && !isSpace(text[end]) && text[end] != '>' && text[end] != ')' && text[end] != '"')
        ++end;
      while (end > i && (text[end - 1] == '.' || text[end - 1] == ',' || text[end - 1] == '!' || text[end - 1] == '?'))
        --end; // sentence punctuation after a URL is not part of it
      out += "<url>";
      i = end;
      continue;
    }
    out.push_back(text[i++]);
  }
  return out;
}

std::string maskEmails(const std::string &text)
{
  auto local = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || std::string("._%+-").find(c) != std::string::npos; };
  auto domain = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; };
  std::string out;
  std::size_t copied = 0;
  for (std::size_t at = text.find('@'); at != std::string::npos; at = text.find('@', at + 1)) {
    std::size_t b = at;
    while (b > copied && local(text[b - 1]))
      --b;
    std::size_t e = at + 1;
    while (e < text.size() && domain(text[e]))
      ++e;
    while (e > at + 1 && (text[e - 1] == '.' || text[e - 1] == '-'))
      --e;
    const std::string host = text.substr(at + 1, e - at - 1);
    const auto dot = host.rfind('.');
    if (b == at || dot == std::string::npos || dot == 0 || host.size() - dot - 1 < 2)
      continue;
    out.append(text, copied, b - copied);
    out += "<email>";
    copied = e;
    at = e - 1;
  }
  out.append(text, copied, std::string::npos);
  return out;
}

std::string collapseWhitespace(const std::string &text)
{
  std::string out;
  bool space = false;
  for (const unicode::CodePoint &c : unicode::decode(text)) {
    if (unicode::isWhiteSpace(c.cp)) {
      space = !out.empty();
      continue;
    }
    if (space)
      out.push_back(' ');
    space = false;
    out.append(text, c.begin, c.end - c.begin);
  }
  return out;
}

std::vector<CleaningStep> cleanDataset(Dataset &dataset, const CleaningOptions &options)
{
  std::vector<CleaningStep> steps;
  auto run = [&](const char *name, const std::function<std::string(const std::string &)> &f, bool tokens) {
    CleaningStep step{name, 0, 0};
    for (Example &e : dataset.examples) {
      bool changed = forEachText(e, f);
      if (tokens)
        for (std::string &t : e.tokens) {
          std::string n = f(t);
          changed = changed || n != t;
          t = std::move(n);
        }
      step.rowsChanged += changed ? 1 : 0;
    }
    steps.push_back(step);
  };
  if (options.stripHtml)
    run("strip HTML", stripHtml, false);
  if (options.unicode == UnicodeForm::NFC)
    run("Unicode NFC", [](const std::string &s) { return unicode::nfc(s); }, true);
  if (options.unicode == UnicodeForm::NFKC)
    run("Unicode NFKC", [](const std::string &s) { return unicode::nfkc(s); }, true);
  if (options.maskUrls)
    run("mask URLs", maskUrls, false);
  if (options.maskEmails)
    run("mask e-mail addresses", maskEmails, false);
  if (options.whitespace)
    run("whitespace", collapseWhitespace, false);
  if (options.lowercase)
    run("lower-case", [](const std::string &s) { return unicode::lowerFull(s); }, true);
  if (options.deduplicate) {
    CleaningStep step{"de-duplicate", 0, 0};
    std::unordered_set<std::string> seen;
    std::vector<Example> kept;
    for (Example &e : dataset.examples) {
      if (seen.insert(exampleKey(e)).second)
        kept.push_back(std::move(e));
      else
        ++step.rowsRemoved;
    }
    dataset.examples = std::move(kept);
    steps.push_back(step);
  }
  return steps;
}

} // namespace tunebench
