#include "core/tokenize/tokenizerloader.h"

#include "core/tokenize/bytelevelbpe.h"
#include "core/tokenize/sentencepiecetokenizer.h"
#include "core/tokenize/unigram.h"
#include "core/tokenize/useunigram.h"
#include "core/tokenize/wordpiece.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/jsonfile.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace tunebench {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json readJsonIfPresent(const fs::path &path)
{
  std::error_code ec;
  return fs::exists(path, ec) ? readJsonFile(path) : json::object();
}

// A special token as special_tokens_map.json / tokenizer_config.json write it: a string or
// {"content": ...}.
std::string tokenText(const json &value)
{
  if (value.is_string())
    return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  return {};
}

bool isUseVocabulary(const fs::path &vocabJson)
{
  if (!inputFileProblem(vocabJson, "a vocabulary").empty())
    return false; // the reader that follows says what is wrong with it
  std::ifstream in(vocabJson, std::ios::binary);
  char first = 0;
  while (in.get(first) && std::isspace(static_cast<unsigned char>(first))) {
  }
  return first == '[';
}

std::unique_ptr<Tokenizer> parseTokenizerJson(const json &root, const fs::path &path);

// A TemplateProcessing post-processor's "single" template: "[CLS] $A [SEP]" (BERT-like),
// "$A </s>" (T5) or "$A" (nothing); the special tokens' ids come from its special_tokens map.
void applyTemplateProcessing(Tokenizer &tokenizer, const json &post)
{
  std::vector<std::string> items; // "$" for the sequence, else the special token's name
  for (const json &item : post.value("single", json::array())) {
    if (item.contains("Sequence"))
      items.emplace_back("$");
    else if (item.contains("SpecialToken") && item["SpecialToken"].is_object())
      items.push_back(item["SpecialToken"].value("id", std::string()));
  }
  const json specials = post.value("special_tokens", json::object());
  auto idOf = [&](const std::string &name) {
    if (specials.is_object() && specials.contains(name)) {
      const json ids = specials[name].value("ids", json::array());
      if (ids.is_array() && ids.size() == 1 && ids[0].is_number_integer())
        return ids[0].get<int>();
    }
    return tokenizer.tokenToId(name);
  };
  SpecialTokens s = tokenizer.specialTokens();
  if (items.size() == 3 && items[1] == "$" && items[0] != "$" && items[2] != "$") {
    s.cls = idOf(items[0]);
    s.sep = idOf(items[2]);
    tokenizer.setSpecialTemplate(SpecialTemplate::Bert);
  } else if (items.size() == 2 && items[0] == "$") {
    s.eos = idOf(items[1]);
    tokenizer.setSpecialTemplate(SpecialTemplate::EosSuffix);
  } else {
    tokenizer.setSpecialTemplate(SpecialTemplate::None);
  }
  tokenizer.setSpecialTokens(s);
}

// Any JSON value of the wrong type becomes an error naming the file.
std::unique_ptr<Tokenizer> fromTokenizerJson(const json &root, const fs::path &path)
{
  try {
    return parseTokenizerJson(root, path);
  } catch (const json::exception &e) {
    throw Error(path.string() + ": unexpected content: " + jsonErrorReason(e));
  }
}

std::unique_ptr<Tokenizer> parseTokenizerJson(const json &root, const fs::path &path)
{
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object())
    throw Error(path.string() + ": a tokenizer.json needs a \"model\" object (with its type and vocab)");
  const json &model = root["model"];
  if (model.contains("type") && !model["type"].is_string())
    throw Error(path.string() + ": field model.type must be a string, got " + model["type"].dump());
  const std::string type = model.value("type", std::string());
  std::unique_ptr<Tokenizer> tokenizer;
  // items() of a temporary would dangle: keep the vocabulary object alive.
  const json vocab = model.value("vocab", json::object());
  auto vocabPairs = [&] {
    if (!vocab.is_object() || vocab.empty())
      throw Error(path.string() + ": field model.vocab must be a non-empty object of token: id");
    std::vector<std::pair<std::string, int>> pairs;
    constexpr long long kMaxId = 1 << 24; // 16,777,216 ids: more than any vocabulary has
    for (const auto &[token, id] : vocab.items()) {
      if (!id.is_number_integer() || id.get<long long>() < 0 || id.get<long long>() >= kMaxId)
        throw Error(path.string() + ": model.vocab[\"" + token + "\"] is not an id from 0 to " +
                    std::to_string(kMaxId - 1) + " (got " + id.dump() + ")");
      pairs.emplace_back(token, id.get<int>());
    }
    return pairs;
  };
  if (type == "WordPiece") {
    const auto pairs = vocabPairs();
    WordPieceOptions options;
    options.unkToken = model.value("unk_token", std::string("[UNK]"));
    options.continuingPrefix = model.value("continuing_subword_prefix", std::string("##"));
    options.maxInputCharsPerWord = model.value("max_input_chars_per_word", 100);
    const json &norm = root.value("normalizer", json::object());
    if (norm.is_object() && norm.value("type", std::string()) == "BertNormalizer") {
      options.lowercase = norm.value("lowercase", true);
      options.cleanText = norm.value("clean_text", true);
      options.handleChineseChars = norm.value("handle_chinese_chars", true);
      if (norm.contains("strip_accents") && norm["strip_accents"].is_boolean())
        options.stripAccents = norm["strip_accents"].get<bool>();
    } else if (!norm.is_null()) {
      options.lowercase = false;
    }
    tokenizer = std::make_unique<WordPieceTokenizer>(Vocabulary::fromPairs(pairs, path.string()), options);
  } else if (type == "BPE") {
    const auto pairs = vocabPairs();
    std::vector<std::pair<std::string, std::string>> merges;
    for (const json &m : model.value("merges", json::array())) {
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const auto space = s.find(' ');
        if (space == std::string::npos)
          throw Error(path.string() + ": model.merges entry \"" + s + "\" is not \"left right\"");
        merges.emplace_back(s.substr(0, space), s.substr(space + 1));
      } else if (m.is_array() && m.size() == 2) {
        merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      }
    }
    const json &pre = root.value("pre_tokenizer", json::object());
    const bool prefixSpace = pre.is_object() && pre.value("add_prefix_space", false);
    tokenizer = std::make_unique<ByteLevelBpeTokenizer>(Vocabulary::fromPairs(pairs, path.string()),
                                                        std::move(merges), prefixSpace);
  } else if (type == "Unigram") {
    tokenizer = std::make_unique<UnigramTokenizer>(root, path.string());
  } else {
    throw Error(path.string() + ": model.type \"" + type + "\" is not supported (WordPiece, BPE and Unigram are)");
  }
  for (const json &added : root.value("added_tokens", json::array()))
    tokenizer->addToken(added.value("content", std::string()), added.value("id", -1), added.value("special", false));
  const json &post = root.value("post_processor", json::object());
  const std::string postType = post.is_object() ? post.value("type", std::string()) : std::string();
  if (postType == "TemplateProcessing")
    applyTemplateProcessing(*tokenizer, post);
  else if (postType == "BertProcessing")
    tokenizer->setSpecialTemplate(SpecialTemplate::Bert);
  else if (postType == "RobertaProcessing")
    tokenizer->setSpecialTemplate(SpecialTemplate::Roberta);
  else if (postType.empty() || postType == "ByteLevel")
    tokenizer->setSpecialTemplate(SpecialTemplate::None);
  return tokenizer;
}

// Applies a folder's special-token files and config.json to a loaded tokenizer.
void configureFromFolder(Tokenizer &tokenizer, const fs::path &dir)
{
  const json config = readJsonIfPresent(dir / "config.json");
  const json tokConfig = readJsonIfPresent(dir / "tokenizer_config.json");
  json specialMap = readJsonIfPresent(dir / "special_tokens_map.json");
  const std::string modelType = config.value("model_type", std::string());

  SpecialTokens s = tokenizer.specialTokens();
  auto resolve = [&](const char *key, int &slot) {
    std::string text = tokenText(specialMap.value(key, json()));
    if (text.empty())
      text = tokenText(tokConfig.value(key, json()));
    if (text.empty())
      return;
    if (const int id = tokenizer.tokenToId(text); id >= 0) {
      slot = id;
      tokenizer.addToken(text, id, true);
    }
  };
  resolve("pad_token", s.pad);
  resolve("unk_token", s.unk);
  resolve("cls_token", s.cls);
  resolve("sep_token", s.sep);
  resolve("mask_token", s.mask);
  resolve("bos_token", s.bos);
  resolve("eos_token", s.eos);

  if (modelType == "roberta" || modelType == "bart" || modelType == "longformer") {
    for (const char *t : {"<s>", "</s>", "<pad>", "<unk>", "<mask>"})
      if (const int id = tokenizer.tokenToId(t); id >= 0)
        tokenizer.addToken(t, id, true);
    s.bos = s.cls = tokenizer.tokenToId("<s>");
    s.eos = s.sep = tokenizer.tokenToId("</s>");
    s.pad = tokenizer.tokenToId("<pad>");
    s.mask = tokenizer.tokenToId("<mask>");
    if (s.cls < 0 || s.sep < 0 || s.pad < 0)
      throw Error(dir.string() + ": config.json says " + modelType +
                  ", but the tokenizer's vocabulary has no <s>, </s> or <pad> (the tokens it frames every "
                  "text with)");
    tokenizer.setSpecialTemplate(SpecialTemplate::Roberta);
  } else if (modelType == "t5" || modelType == "mt5") {
    for (const char *t : {"</s>", "<pad>", "<unk>"})
      if (const int id = tokenizer.tokenToId(t); id >= 0)
        tokenizer.addToken(t, id, true);
    if (s.eos < 0)
      s.eos = tokenizer.tokenToId("</s>");
    // A T5 made from scratch on another tokenizer (no </s>) keeps that tokenizer's framing, as in training.
    if (s.eos >= 0)
      tokenizer.setSpecialTemplate(SpecialTemplate::EosSuffix);
  } else if (modelType == "gpt2") {
    tokenizer.setSpecialTemplate(SpecialTemplate::None);
  }
  tokenizer.setSpecialTokens(s);

  int maxLength = tokConfig.value("model_max_length", 0);
  if (maxLength <= 0 || maxLength > 1000000)
    maxLength = config.value("max_position_embeddings", config.value("n_positions", 0));
  if (modelType == "roberta" && maxLength > 2)
    maxLength = std::min(maxLength, config.value("max_position_embeddings", maxLength) - 2);
  tokenizer.setModelMaxLength(maxLength);
}

} // namespace

std::unique_ptr<Tokenizer> loadTokenizerFile(const fs::path &file)
{
  if (!fileExists(file))
    throw Error(file.string() + ": no such file");
  const std::string name = file.filename().string();
  if (name == "tokenizer.json" || name.ends_with(".tokenizer.json"))
    return fromTokenizerJson(readJsonFile(file), file);
  if (file.extension() == ".txt")
    return WordPieceTokenizer::fromVocabFile(file);
  if (file.extension() == ".model")
    return SentencePieceTokenizer::fromFile(file);
  if (file.extension() == ".json") {
    if (isUseVocabulary(file))
      return UseUnigramTokenizer::fromVocabJson(file);
    const fs::path merges = file.parent_path() / "merges.txt";
    if (!fileExists(merges))
      throw Error(file.string() + ": a BPE vocabulary needs merges.txt beside it");
    return ByteLevelBpeTokenizer::fromFiles(file, merges);
  }
  throw Error(file.string() + ": not a tokenizer file tunebench knows (vocab.txt, vocab.json, merges.txt, "
                              "*.model, tokenizer.json)");
}

std::unique_ptr<Tokenizer> loadTokenizer(const fs::path &dir)
{
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(dir.string() + ": not a folder");
  const json tokConfig = readJsonIfPresent(dir / "tokenizer_config.json");
  std::unique_ptr<Tokenizer> tokenizer;
  // tokenizer.json first, as transformers' fast tokenizers (its default) read it; a SentencePiece
  // .model is used when there is none (ids as the slow tokenizers give them).
  const json tokenizerJson = readJsonIfPresent(dir / "tokenizer.json");
  if (!tokenizerJson.empty()) {
    tokenizer = fromTokenizerJson(tokenizerJson, dir / "tokenizer.json");
  } else if (fileExists(dir / "vocab.txt")) {
    WordPieceOptions options;
    options.lowercase = tokConfig.value("do_lower_case", true);
    if (tokConfig.contains("strip_accents") && tokConfig["strip_accents"].is_boolean())
      options.stripAccents = tokConfig["strip_accents"].get<bool>();
    options.handleChineseChars = tokConfig.value("tokenize_chinese_chars", true);
    tokenizer = WordPieceTokenizer::fromVocabFile(dir / "vocab.txt", options);
  } else if (fileExists(dir / "vocab.json") && fileExists(dir / "merges.txt")) {
    tokenizer = ByteLevelBpeTokenizer::fromFiles(dir / "vocab.json", dir / "merges.txt",
                                                 tokConfig.value("add_prefix_space", false));
  } else if (fileExists(dir / "vocab.json") && isUseVocabulary(dir / "vocab.json")) {
    tokenizer = UseUnigramTokenizer::fromVocabJson(dir / "vocab.json");
  } else {
    for (const char *name : {"spiece.model", "sentencepiece.bpe.model", "tokenizer.model", "sentencepiece.model"})
      if (fileExists(dir / name)) {
        tokenizer = SentencePieceTokenizer::fromFile(dir / name);
        break;
      }
  }
  if (!tokenizer)
    throw Error(dir.string() + ": no tokenizer found (looked for tokenizer.json, vocab.txt, vocab.json + "
                               "merges.txt, spiece.model, sentencepiece.bpe.model, tokenizer.model)");
  try {
    configureFromFolder(*tokenizer, dir);
  } catch (const json::exception &e) {
    throw Error(dir.string() +
                ": unexpected content in its config.json or tokenizer files: " + jsonErrorReason(e));
  }
  return tokenizer;
}

} // namespace tunebench
