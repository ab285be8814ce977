#pragma once

#include "core/tokenize/tokenizer.h"

#include <filesystem>
#include <memory>

namespace tunebench {

// Loads the tokenizer of a Hugging Face model folder (or of the USE-Lite folder). Looks, in order,
// for tokenizer.json (WordPiece or BPE models), vocab.txt (WordPiece), vocab.json + merges.txt
// (byte-level BPE), spiece.model / sentencepiece.bpe.model / tokenizer.model (SentencePiece), and
// vocab.json as a [piece, score] list (USE-Lite). tokenizer_config.json, special_tokens_map.json
// and config.json refine it: lower-casing, special tokens, the template ([CLS]/[SEP], <s>/</s>,
// T5's </s>), model_max_length. Throws tunebench::Error naming the folder and what is missing.
std::unique_ptr<Tokenizer> loadTokenizer(const std::filesystem::path &modelDir);

// Loads one tokenizer file, choosing the family from its name and content: vocab.txt, vocab.json
// (with merges.txt beside it, or a [piece, score] list), *.model, tokenizer.json.
std::unique_ptr<Tokenizer> loadTokenizerFile(const std::filesystem::path &file);

} // namespace tunebench
