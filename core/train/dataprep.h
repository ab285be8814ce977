#pragma once

#include "core/config/experiment.h"
#include "core/data/datareport.h"
#include "core/data/dataset.h"
#include "core/data/splits.h"

#include <memory>
#include <string>
#include <vector>

namespace tunebench {

class Tokenizer;

// One example ready for the model: token ids and its target(s).
struct EncodedExample
{
  std::vector<int> ids;
  std::vector<int> typeIds;
  int label = -1;                 // single-label: class index
  std::vector<float> multiLabel;  // multi-label: 0/1 per class
  std::vector<int> tokenLabels;   // token tagging: tag index per token, -100 where ignored; LMs: target ids
  std::vector<int> targets;       // sequence-to-sequence (span corruption, seq2seq): the decoder's target ids
  std::vector<int> wordIds;       // token tagging: source word per token, -1 for specials
  int row = -1;                   // row in PreparedData::dataset
};

// An experiment's rows as training sees them, before tokenization: read, mapped, cleaned,
// sub-sampled, split (the file's split column, k-fold, or stratified seeded ratios), checked for
// rows duplicated across splits (warnings in the report, a line in the log), and the training split
// augmented. The one data path: prepareData and the Data tab both start here.
struct LoadedDataset
{
  Dataset dataset;              // every row (augmented rows appended at the end)
  SplitIndices split;           // rows of dataset per split (augmented rows only in train)
  std::vector<std::string> log; // what was done, in words
};
LoadedDataset loadDataset(const ExperimentConfig &config, DataReport &report);

// The data side of an experiment: read, mapped, cleaned, sub-sampled, split (stratified, seeded),
// the training split augmented, and everything tokenized once.
struct PreparedData
{
  Dataset dataset;         // every row (augmented rows appended at the end)
  SplitIndices split;      // rows of dataset per split (augmented rows only in train)
  std::vector<std::string> labels; // class or tag names; their order is the head's output order
  std::vector<EncodedExample> encoded; // one per dataset row
  std::vector<std::string> log;        // what was done, in words (cleaning counts, split sizes ...)
  int truncated = 0;                   // examples cut at model.max_length
};

// Throws tunebench::Error with a file:line:column message for unusable data (the report holds
// every issue found; rows with errors are left out when others remain).
PreparedData prepareData(const ExperimentConfig &config, const Tokenizer &tokenizer, DataReport &report);

// The id that ends a text (eos, <|endoftext|>, </s>), or -1.
int endOfTextId(const Tokenizer &tokenizer);

// Language modelling: causal-LM text packed into blocks of model.max_length tokens (split indices
// then index blocks), instruction examples rendered with their template (loss on responses only),
// or text-to-text source → target pairs (seq2seq).
void encodeForLanguageModelling(const ExperimentConfig &config, const Tokenizer &tokenizer, PreparedData &out);

// Encodes one text for prediction the way prepareData does.
EncodedExample encodeText(const ExperimentConfig &config, const Tokenizer &tokenizer, const std::string &text,
                          const std::string &pair = {});

} // namespace tunebench
