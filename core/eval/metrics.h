#pragma once

#include "core/data/tagging.h"

#include <string>
#include <vector>

namespace tunebench {

// Precision, recall, F1 and support of one class (or entity type).
struct ClassScore
{
  std::string label;
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  int support = 0;   // true instances
  int predicted = 0; // predicted instances
};

// Averages as scikit-learn computes them (zero_division = 0).
struct Averages
{
  double precision = 0;
  double recall = 0;
  double f1 = 0;
};

struct ClassificationMetrics
{
  double accuracy = 0; // exact-match ratio for multi-label
  Averages micro, macro, weighted;
  std::vector<ClassScore> perClass;
  std::vector<std::vector<int>> confusion; // [true][predicted] (single-label only)
  int examples = 0;
};

// Single-label: truth and predictions are class indices into labels.
ClassificationMetrics classificationMetrics(const std::vector<int> &truth, const std::vector<int> &predicted,
                                            const std::vector<std::string> &labels);
// Multi-label: each example's set of class indices.
ClassificationMetrics multiLabelMetrics(const std::vector<std::vector<int>> &truth,
                                        const std::vector<std::vector<int>> &predicted,
                                        const std::vector<std::string> &labels);

// Entity-level scores counted as seqeval counts them (default mode): entities are read leniently
// from each sentence (an I- with no B- starts one, a type change ends one), and a predicted entity
// is correct only when its type and span both match. Sentences never share an entity.
struct EntityMetrics
{
  Averages micro, macro, weighted;
  std::vector<ClassScore> perType;
  int gold = 0;
  int predicted = 0;
  int correct = 0;
};
EntityMetrics entityMetrics(const std::vector<std::vector<std::string>> &truth,
                            const std::vector<std::vector<std::string>> &predicted);

// Share of tokens whose tag is right (over all sentences).
double tokenAccuracy(const std::vector<std::vector<std::string>> &truth,
                     const std::vector<std::vector<std::string>> &predicted);

// exp(mean negative log-likelihood per token).
double perplexity(double meanNll);

// Corpus BLEU (Papineni et al.): clipped n-gram precisions up to maxOrder pooled over the corpus,
// geometric mean, brevity penalty against the closest reference length. smooth adds one to the
// numerator and denominator of every order above 1 (Lin & Och's "smoothing 2"), so short corpora
// do not score 0. Returns 0..1.
double corpusBleu(const std::vector<std::vector<std::string>> &hypotheses,
                  const std::vector<std::vector<std::vector<std::string>>> &references, int maxOrder = 4,
                  bool smooth = true);

// ROUGE-L F-measure of one hypothesis against one reference (longest common subsequence).
double rougeL(const std::vector<std::string> &hypothesis, const std::vector<std::string> &reference);

// Share of hypotheses equal to their reference after trimming, collapsing whitespace and
// lower-casing.
double exactMatch(const std::vector<std::string> &hypotheses, const std::vector<std::string> &references);

// Whitespace tokenization for the text metrics.
std::vector<std::string> splitWords(const std::string &text);

// Expected calibration error: |accuracy - confidence| averaged over equal-width confidence bins,
// weighted by bin size.
double expectedCalibrationError(const std::vector<double> &confidence, const std::vector<bool> &correct, int bins = 15);

} // namespace tunebench
