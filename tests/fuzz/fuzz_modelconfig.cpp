// A model folder's config.json as the loaders read it: parsed, then by model_type the encoder
// (BERT, RoBERTa, DistilBERT), GPT-2 or T5 config read field by field (wrong JSON types become
// Errors naming the file), then the memory guard's estimate of its weights. Only tunebench::Error
// and nlohmann's parse errors may be thrown; anything else is a finding.
#include "core/models/estimate.h"
#include "core/models/modelconfig.h"
#include "core/util/error.h"
#include "core/util/jsonfile.h"

#include <cstddef>
#include <cstdint>

using namespace tunebench;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  try {
    const nlohmann::json j = parseJson(text, "config.json");
    const std::string type = j.is_object() && j.contains("model_type") && j["model_type"].is_string()
                                 ? j["model_type"].get<std::string>()
                                 : std::string();
    withJsonTypeErrors("config.json", [&] {
      if (type == "gpt2") {
        const Gpt2Config c = Gpt2Config::fromJson(j, "config.json");
        (void)denseShape(c.vocabSize, c.hiddenSize, c.numLayers, c.innerSize, c.maxPositions);
      } else if (type == "t5" || type == "mt5") {
        const T5Config c = T5Config::fromJson(j, "config.json");
        (void)denseShape(c.vocabSize, c.dModel, c.numLayers, c.dFf, 0, c.numDecoderLayers);
      } else {
        const EncoderConfig c = EncoderConfig::fromJson(j, "config.json");
        (void)denseShape(c.vocabSize, c.hiddenSize, c.numLayers, c.intermediateSize, c.maxPositions);
      }
      return 0;
    });
  } catch (const Error &) {
  } catch (const nlohmann::json::parse_error &) {
  }
  return 0;
}
