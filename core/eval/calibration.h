#pragma once

#include <vector>

namespace tunebench {

// Post-processing fitted on the validation split.

// Temperature scaling (Guo et al., 2017): the T > 0 that minimises the negative log-likelihood of
// softmax(logits / T) for the true labels (golden-section search over log T in [1/20, 20]).
double fitTemperature(const std::vector<std::vector<double>> &logits, const std::vector<int> &labels);
std::vector<std::vector<double>> softmaxWithTemperature(const std::vector<std::vector<double>> &logits, double temperature);
// Mean negative log-likelihood of the true labels.
double negativeLogLikelihood(const std::vector<std::vector<double>> &probabilities, const std::vector<int> &labels);

// Binary decision threshold on p(positive) that maximises F1 of the positive class; ties go to the
// threshold closest to 0.5. Candidates are the midpoints between sorted distinct probabilities.
double tuneThreshold(const std::vector<double> &positiveProbability, const std::vector<bool> &isPositive);

} // namespace tunebench
