#include "core/train/dataprep.h"

#include "core/data/augment.h"
#include "core/data/cleaning.h"
#include "core/data/instruction.h"
#include "core/data/mapping.h"
#include "core/data/readers.h"
#include "core/data/wordnet.h"
#include "core/runtime/paths.h"
#include "core/tokenize/tokenizer.h"
#include "core/train/paraphraser.h"
#include "core/util/cancel.h"
#include "core/util/error.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

namespace tunebench {

namespace {

TaskKind taskKindOf(const ExperimentConfig &config)
{
  if (config.task.kind == "multi_label")
    return TaskKind::MultiLabel;
  if (config.task.kind == "token_tagging")
    return TaskKind::TokenTagging;
  if (config.task.kind == "causal_lm" || config.isDenoising())
    return TaskKind::LanguageModel; // plain text
  if (config.answersPrompts())      // instruction, seq2seq
    return TaskKind::Instruction;
  return TaskKind::SingleLabel;
}

EncodeOptions encodeOptions(const ExperimentConfig &config)
{
  EncodeOptions o;
  o.maxLength = config.model.maxLength;
  o.truncation = TruncationStrategy::LongestFirst;
  return o;
}

} // namespace

int endOfTextId(const Tokenizer &tokenizer)
{
  if (tokenizer.specialTokens().eos >= 0)
    return tokenizer.specialTokens().eos;
  for (const char *name : {"<|endoftext|>", "</s>", "[SEP]"})
    if (const int id = tokenizer.tokenToId(name); id >= 0)
      return id;
  return -1;
}

namespace {

// Each split's texts, joined with the end-of-text token and cut into blocks (labels = ids).
// Masked LM: each block wrapped as the model's single-sequence input ([CLS] … [SEP]); the noise
// (and its labels) comes afresh with every batch, as does span corruption's.
void packBlocks(const ExperimentConfig &config, const Tokenizer &tokenizer, PreparedData &out,
                std::vector<EncodedExample> &encoded, SplitIndices &split)
{
  const int eos = endOfTextId(tokenizer);
  const auto block = static_cast<std::size_t>(config.model.maxLength);
  const SpecialTokens &specials = tokenizer.specialTokens();
  const int open = specials.cls >= 0 ? specials.cls : specials.bos;
  const int close = specials.sep >= 0 ? specials.sep : specials.eos;
  const bool wrap = config.task.kind == "masked_lm" && open >= 0 && close >= 0;
  const std::size_t room = wrap ? std::max<std::size_t>(block, 3) - 2 : block;
  auto pack = [&](const std::vector<int> &rows, std::vector<int> &indices) {
    std::vector<int> stream;
    for (int r : rows) {
      throwIfStopped(); // a row can take milliseconds (long documents)
      const std::vector<Token> tokens =
          tokenizer.tokenize(out.dataset.examples[static_cast<std::size_t>(r)].text);
      for (const Token &t : tokens)
        stream.push_back(t.id);
      if (eos >= 0)
        stream.push_back(eos);
    }
    for (std::size_t at = 0; at + 2 <= stream.size(); at += room) {
      EncodedExample e;
      if (wrap)
        e.ids.push_back(open);
      e.ids.insert(e.ids.end(), stream.begin() + static_cast<std::ptrdiff_t>(at),
                   stream.begin() + static_cast<std::ptrdiff_t>(std::min(stream.size(), at + room)));
      if (wrap)
        e.ids.push_back(close);
      if (!config.isDenoising())
        e.tokenLabels = e.ids;
      e.typeIds.assign(e.ids.size(), 0);
      e.row = -1;
      indices.push_back(static_cast<int>(encoded.size()));
      encoded.push_back(std::move(e));
    }
  };
  pack(out.split.train, split.train);
  pack(out.split.validation, split.validation);
  pack(out.split.test, split.test);
  out.log.push_back("language modelling: blocks of " + std::to_string(block) +
                    " tokens: " + std::to_string(split.train.size()) + " train, " +
                    std::to_string(split.validation.size()) + " validation, " +
                    std::to_string(split.test.size()) + " test");
}

// The experiment's prompt template (Error for an unknown name).
std::optional<PromptTemplate> templateOf(const ExperimentConfig &config)
{
  std::optional<PromptTemplate> t = promptTemplate(config.task.promptTemplate);
  if (!t)
    throw Error("unknown prompt template \"" + config.task.promptTemplate + "\"");
  return t;
}

// Instruction pairs: the prompt is context (no loss), the response and end-of-text train.
void encodeInstructions(const ExperimentConfig &config, const Tokenizer &tokenizer, PreparedData &out,
                        std::vector<EncodedExample> &encoded, SplitIndices &split)
{
  const int eos = endOfTextId(tokenizer);
  const auto block = static_cast<std::size_t>(config.model.maxLength);
  const std::optional<PromptTemplate> templ = templateOf(config);
  for (std::size_t r = 0; r < out.dataset.size(); ++r) {
    throwIfStopped(); // a row can take milliseconds (long documents)
    EncodedExample e;
    for (const PromptSegment &segment : renderExample(out.dataset.examples[r], *templ))
      for (const Token &t : tokenizer.tokenize(segment.text)) {
        e.ids.push_back(t.id);
        e.tokenLabels.push_back(segment.trainable ? t.id : -100);
      }
    if (eos >= 0) {
      e.ids.push_back(eos);
      e.tokenLabels.push_back(eos);
    }
    if (e.ids.size() > block) {
      e.ids.resize(block);
      e.tokenLabels.resize(block);
      ++out.truncated;
    }
    e.typeIds.assign(e.ids.size(), 0);
    e.row = static_cast<int>(r);
    encoded.push_back(std::move(e));
  }
  split = out.split;
  out.log.push_back("instruction tuning (" + templ->name + " template): " + std::to_string(out.truncated) +
                    " examples cut at " + std::to_string(block) + " tokens");
}

// Text-to-text pairs (T5): the templated source is the encoder's input, the answer then the
// end-of-sequence token the decoder's target; each cut at model.max_length tokens (keeping the end).
void encodeSourceTarget(const ExperimentConfig &config, const Tokenizer &tokenizer, PreparedData &out,
                        std::vector<EncodedExample> &encoded, SplitIndices &split)
{
  const int eos = endOfTextId(tokenizer);
  if (eos < 0)
    throw Error("task.kind seq2seq: the tokenizer of " + config.resolve(config.model.path).string() +
                " has no end-of-sequence token (</s>, [SEP])");
  const auto block = static_cast<std::size_t>(std::max(config.model.maxLength, 2));
  const std::optional<PromptTemplate> templ = templateOf(config);
  auto encode = [&](const std::string &text, std::vector<int> &to) {
    for (const Token &t : tokenizer.tokenize(text))
      to.push_back(t.id);
    const bool cut = to.size() > block - 1;
    if (cut)
      to.resize(block - 1);
    to.push_back(eos);
    return cut;
  };
  for (std::size_t r = 0; r < out.dataset.size(); ++r) {
    throwIfStopped();
    const SourceTarget st = sourceAndTarget(out.dataset.examples[r], *templ);
    EncodedExample e;
    const bool cutSource = encode(st.source, e.ids);
    const bool cutTarget = encode(st.target, e.targets);
    out.truncated += cutSource || cutTarget;
    e.typeIds.assign(e.ids.size(), 0);
    e.row = static_cast<int>(r);
    encoded.push_back(std::move(e));
  }
  split = out.split;
  out.log.push_back("text-to-text (" + templ->name + " template): " + std::to_string(out.truncated) +
                    " examples cut at " + std::to_string(block) + " tokens");
}

} // namespace

void encodeForLanguageModelling(const ExperimentConfig &config, const Tokenizer &tokenizer, PreparedData &out)
{
  out.labels.clear();
  std::vector<EncodedExample> encoded;
  SplitIndices split;
  if (out.dataset.kind == TaskKind::LanguageModel)
    packBlocks(config, tokenizer, out, encoded, split);
  else if (config.isSeq2Seq())
    encodeSourceTarget(config, tokenizer, out, encoded, split);
  else
    encodeInstructions(config, tokenizer, out, encoded, split);
  out.encoded = std::move(encoded);
  out.split = std::move(split);
  if (out.split.train.empty() || out.split.validation.empty())
    throw Error(config.resolve(config.data.path).string() + ": too little text for a training and a validation block");
}

EncodedExample encodeText(const ExperimentConfig &config, const Tokenizer &tokenizer, const std::string &text,
                          const std::string &pair)
{
  const Encoding enc = pair.empty() ? tokenizer.encode(text, encodeOptions(config))
                                    : tokenizer.encodePair(text, pair, encodeOptions(config));
  EncodedExample e;
  e.ids = enc.ids;
  e.typeIds = enc.typeIds;
  if (e.ids.empty()) { // an empty text still needs one position
    e.ids.push_back(std::max(0, tokenizer.specialTokens().unk));
    e.typeIds.push_back(0);
  }
  return e;
}

namespace {

// Rows of `b` whose text is also in `a` (duplicates across splits: the held-out score would see
// training rows): a warning in the report for the first few and one line in the log.
void reportLeaks(const std::string &file, const Dataset &dataset, const std::vector<int> &a,
                 const std::vector<int> &b, const std::string &aName, const std::string &bName,
                 DataReport &report, std::vector<std::string> &log)
{
  const std::vector<Leak> leaks = findLeaks(dataset, a, b);
  if (leaks.empty())
    return;
  for (std::size_t i = 0; i < leaks.size() && i < 20; ++i) {
    const Example &x = dataset.examples[static_cast<std::size_t>(leaks[i].b)];
    const Example &y = dataset.examples[static_cast<std::size_t>(leaks[i].a)];
    report.warning(file, x.line, 0, "",
                   "leakage: this " + bName + " row has the same text as " + aName + " row at line " +
                       std::to_string(y.line));
  }
  log.push_back("leakage: " + std::to_string(leaks.size()) + " " + bName +
                " row(s) have the same text as a " + aName +
                " row (see the data report); set data.deduplicate to drop duplicates before splitting");
}

} // namespace

namespace {

// The file read and mapped to the task's examples; rows with errors left out (counted in the log).
Dataset readMapped(const ExperimentConfig &config, const std::filesystem::path &path, DataReport &report,
                   std::vector<std::string> &log)
{
  const Table table = readTable(path, report);
  if (report.hasErrors() && table.rows.empty())
    throw Error(report.issues().front().toString());

  MappingOptions mapping;
  mapping.kind = taskKindOf(config);
  mapping.columns = guessMapping(table, mapping.kind);
  for (const auto &[role, column] : config.data.columns) {
    if (role == "text") mapping.columns.text = column;
    else if (role == "text_pair") mapping.columns.textPair = column;
    else if (role == "label") mapping.columns.label = column;
    else if (role == "tokens") mapping.columns.tokens = column;
    else if (role == "tags") mapping.columns.tags = column;
    else if (role == "split") mapping.columns.split = column;
  }
  if (!config.data.tagScheme.empty())
    mapping.scheme = parseTagScheme(config.data.tagScheme);
  mapping.reportDuplicates = false;
  Dataset dataset = toDataset(table, mapping, report);
  if (dataset.examples.empty()) {
    for (const DataIssue &issue : report.issues())
      if (issue.severity == DataIssue::Severity::Error)
        throw Error(issue.toString());
    throw Error(path.string() + ": no usable rows");
  }
  if (const int errors = report.errorCount(); errors > 0)
    log.push_back(std::to_string(errors) + " rows with errors were left out (see the data report)");
  return dataset;
}

void clean(const ExperimentConfig &config, LoadedDataset &out)
{
  CleaningOptions cleaning;
  cleaning.whitespace = config.data.cleanWhitespace;
  cleaning.stripHtml = config.data.cleanHtml;
  cleaning.lowercase = config.data.cleanLowercase;
  cleaning.maskUrls = config.data.maskUrls;
  cleaning.maskEmails = config.data.maskEmails;
  cleaning.deduplicate = config.data.deduplicate;
  cleaning.unicode = config.data.unicodeForm == "nfc"    ? UnicodeForm::NFC
                     : config.data.unicodeForm == "nfkc" ? UnicodeForm::NFKC
                                                         : UnicodeForm::None;
  for (const CleaningStep &step : cleanDataset(out.dataset, cleaning))
    if (step.rowsChanged || step.rowsRemoved)
      out.log.push_back("cleaning " + step.name + ": " + std::to_string(step.rowsChanged) + " rows changed, " +
                        std::to_string(step.rowsRemoved) + " removed");
}

// A subset: the first rows of a seeded shuffle (stratification is kept by the split below).
void takeSubset(const ExperimentConfig &config, LoadedDataset &out)
{
  int keep = static_cast<int>(out.dataset.size());
  if (config.data.subsetRows > 0)
    keep = std::min(keep, config.data.subsetRows);
  if (config.data.subsetFraction < 1.0)
    keep = std::min(keep, std::max(1, static_cast<int>(config.data.subsetFraction * static_cast<double>(out.dataset.size()))));
  if (keep < static_cast<int>(out.dataset.size())) {
    std::vector<int> order = shuffledIndices(static_cast<int>(out.dataset.size()), config.seed ^ 0x5eedULL);
    order.resize(static_cast<std::size_t>(keep));
    std::sort(order.begin(), order.end());
    std::vector<Example> kept;
    for (int i : order)
      kept.push_back(out.dataset.examples[static_cast<std::size_t>(i)]);
    out.dataset.examples = std::move(kept);
    out.log.push_back("subset: " + std::to_string(keep) + " rows");
  }
}

// k-fold: this fold is the test split; the rest is split into training and validation in the
// ratio train : validation, per class when stratified.
void splitForFold(const ExperimentConfig &config, LoadedDataset &out)
{
  const bool stratified = config.data.stratified && out.dataset.kind == TaskKind::SingleLabel;
  const auto folds = kFold(out.dataset, config.data.folds, stratified, config.seed);
  out.split.test = folds[static_cast<std::size_t>(config.data.fold)];
  std::vector<char> inTest(out.dataset.size(), 0);
  for (int r : out.split.test)
    inTest[static_cast<std::size_t>(r)] = 1;
  const double share = config.data.validation / std::max(1e-9, config.data.train + config.data.validation);
  std::map<std::string, std::vector<int>> groups;
  for (int r : shuffledIndices(static_cast<int>(out.dataset.size()), config.seed ^ 0xf01dULL))
    if (!inTest[static_cast<std::size_t>(r)])
      groups[stratified ? Dataset::primaryLabel(out.dataset.examples[static_cast<std::size_t>(r)])
                        : std::string()]
          .push_back(r);
  for (const auto &[label, rows] : groups) {
    const auto nVal = static_cast<std::size_t>(std::lround(share * static_cast<double>(rows.size())));
    for (std::size_t i = 0; i < rows.size(); ++i)
      (i < nVal ? out.split.validation : out.split.train).push_back(rows[i]);
  }
  std::sort(out.split.train.begin(), out.split.train.end());
  std::sort(out.split.validation.begin(), out.split.validation.end());
  out.log.push_back("fold " + std::to_string(config.data.fold + 1) + " of " +
                    std::to_string(config.data.folds) + " is the test split");
}

// Splits: the file's own split column when it has one, else this fold's, else by ratio.
void split(const ExperimentConfig &config, LoadedDataset &out)
{
  bool fileSplits = false;
  for (const Example &e : out.dataset.examples)
    fileSplits = fileSplits || !e.split.empty();
  if (fileSplits) {
    for (std::size_t i = 0; i < out.dataset.size(); ++i) {
      const std::string &s = out.dataset.examples[i].split;
      (s == "test" ? out.split.test : s == "validation" || s == "dev" || s == "valid" ? out.split.validation
                                                                                      : out.split.train)
          .push_back(static_cast<int>(i));
    }
  } else if (config.data.folds > 0) {
    splitForFold(config, out);
  } else {
    SplitRatios ratios{config.data.train, config.data.validation, config.data.test};
    out.split = splitDataset(out.dataset, ratios,
                             config.data.stratified && out.dataset.kind == TaskKind::SingleLabel, config.seed);
  }
}

// Augmented copies of the training rows (WordNet synonyms, insertions, swaps, deletions) and
// paraphrases by a T5 model folder (or two: back-translation).
void augmentTraining(const ExperimentConfig &config, LoadedDataset &out)
{
  const AugmentOptions a = augmentOptionsFor(config);
  std::optional<WordNet> wordnet;
  if (a.synonymAlpha > 0 || a.insertionAlpha > 0) {
    throwIfStopped();
    wordnet = WordNet::load(assetsDir() / "debs" / "root" / "usr" / "share" / "wordnet");
  }
  throwIfStopped();
  const std::unique_ptr<Paraphraser> paraphraser = makeParaphraser(config);
  std::vector<Example> added =
      augment(out.dataset, out.split.train, a, wordnet ? &*wordnet : nullptr, paraphraser.get());
  const auto paraphrased = std::count_if(added.begin(), added.end(), [](const Example &e) {
    return e.augmentation.rfind("back-translation", 0) == 0;
  });
  out.log.push_back("augmentation: " + std::to_string(added.size()) + " new training rows" +
                    (paraphraser
                         ? " (" + std::to_string(paraphrased) + " paraphrases by " + paraphraser->name() + ")"
                         : std::string()));
  for (Example &e : added) {
    out.split.train.push_back(static_cast<int>(out.dataset.size()));
    out.dataset.examples.push_back(std::move(e));
  }
}

} // namespace

LoadedDataset loadDataset(const ExperimentConfig &config, DataReport &report)
{
  LoadedDataset out;
  const std::filesystem::path path = config.resolve(config.data.path);
  out.dataset = readMapped(config, path, report, out.log);
  clean(config, out);
  takeSubset(config, out);
  split(config, out);
  if (out.split.train.empty() || out.split.validation.empty())
    throw Error(path.string() + ": too few rows for a training and a validation split (" +
                std::to_string(out.dataset.size()) + " rows)");
  reportLeaks(path.string(), out.dataset, out.split.train, out.split.validation, "train", "validation",
              report, out.log);
  reportLeaks(path.string(), out.dataset, out.split.train, out.split.test, "train", "test", report, out.log);
  reportLeaks(path.string(), out.dataset, out.split.validation, out.split.test, "validation", "test", report,
              out.log);
  if (config.data.augmentPerRow > 0 || !config.data.paraphrase.model.empty())
    augmentTraining(config, out);
  return out;
}

PreparedData prepareData(const ExperimentConfig &config, const Tokenizer &tokenizer, DataReport &report)
{
  LoadedDataset loaded = loadDataset(config, report);
  PreparedData out;
  out.dataset = std::move(loaded.dataset);
  out.split = std::move(loaded.split);
  out.log = std::move(loaded.log);
  if (out.dataset.kind == TaskKind::LanguageModel || out.dataset.kind == TaskKind::Instruction) {
    encodeForLanguageModelling(config, tokenizer, out);
    return out;
  }

  out.labels = out.dataset.labels;
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < out.labels.size(); ++i)
    index[out.labels[i]] = static_cast<int>(i);
  const EncodeOptions options = encodeOptions(config);
  out.encoded.reserve(out.dataset.size());
  for (std::size_t r = 0; r < out.dataset.size(); ++r) {
    throwIfStopped(); // a row can take milliseconds (long documents)
    const Example &x = out.dataset.examples[r];
    EncodedExample e;
    if (out.dataset.kind == TaskKind::TokenTagging) {
      const Encoding enc = tokenizer.encodeWords(x.tokens, options);
      std::vector<int> tags;
      for (const std::string &t : x.tags)
        tags.push_back(index.count(t) ? index[t] : -100);
      e.ids = enc.ids;
      e.typeIds = enc.typeIds;
      e.tokenLabels = alignWordLabels(enc, tags);
      e.wordIds = enc.wordIds;
      out.truncated += enc.truncated > 0;
    } else {
      e = encodeText(config, tokenizer, x.text, x.textPair);
      out.truncated += static_cast<int>(e.ids.size()) >= config.model.maxLength;
      if (out.dataset.kind == TaskKind::MultiLabel) {
        e.multiLabel.assign(out.labels.size(), 0.0f);
        for (const std::string &l : x.labels)
          if (index.count(l))
            e.multiLabel[static_cast<std::size_t>(index[l])] = 1.0f;
      } else {
        const std::string &l = Dataset::primaryLabel(x);
        e.label = index.count(l) ? index[l] : -1;
      }
    }
    if (e.ids.empty()) {
      e.ids.push_back(std::max(0, tokenizer.specialTokens().unk));
      e.typeIds.push_back(0);
      if (!e.tokenLabels.empty() || out.dataset.kind == TaskKind::TokenTagging) {
        e.tokenLabels.assign(1, -100);
        e.wordIds.assign(1, -1);
      }
    }
    e.row = static_cast<int>(r);
    out.encoded.push_back(std::move(e));
  }
  out.log.push_back("splits: " + std::to_string(out.split.train.size()) + " train, " +
                    std::to_string(out.split.validation.size()) + " validation, " +
                    std::to_string(out.split.test.size()) + " test; " + std::to_string(out.labels.size()) +
                    (out.dataset.kind == TaskKind::TokenTagging ? " tags" : " labels"));
  return out;
}

} // namespace tunebench
