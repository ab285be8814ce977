// `tokenize`: one line of ids per stdin line, with the tokenizer of a model folder or a file.
#include "cli/args.h"
#include "cli/commands.h"

#include "core/tokenize/tokenizerloader.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace tunebench::cli {

int runTokenize(const std::vector<std::string> &argv)
{
  Args args(argv, {{"model", true, "model folder (its tokenizer files are detected)"},
                   {"tokenizer", true, "a tokenizer file: vocab.txt, vocab.json, *.model, tokenizer.json"},
                   {"json", false, "one JSON object per line: ids, tokens, byte offsets"},
                   {"no-special-tokens", false, "do not add [CLS]/[SEP], <s>/</s> or </s>"},
                   {"max-length", true, "truncate to this many tokens"}});
  const auto model = args.value("model");
  const auto file = args.value("tokenizer");
  if (model.has_value() == file.has_value())
    throw UsageError("tokenize needs exactly one of --model DIR and --tokenizer FILE");
  const std::unique_ptr<Tokenizer> tokenizer = model ? loadTokenizer(*model) : loadTokenizerFile(*file);
  EncodeOptions options;
  options.addSpecialTokens = !args.has("no-special-tokens");
  options.maxLength = args.intValue("max-length").value_or(0);
  const bool json = args.has("json");

  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    const Encoding enc = tokenizer->encode(line, options);
    if (json) {
      nlohmann::json out;
      out["ids"] = enc.ids;
      std::vector<std::string> tokens;
      for (int id : enc.ids)
        tokens.push_back(tokenizer->idToToken(id));
      out["tokens"] = tokens;
      out["offsets"] = enc.offsets;
      std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    } else {
      for (std::size_t i = 0; i < enc.ids.size(); ++i)
        std::cout << (i ? " " : "") << enc.ids[i];
      std::cout << '\n';
    }
  }
  return ExitOk;
}

} // namespace tunebench::cli
