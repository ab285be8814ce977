#pragma once

#include "core/data/tagging.h"

#include <string>
#include <vector>

namespace tunebench {

// Whether tag `to` may follow tag `from` in the scheme ("" as `from`: the sequence start; "" as
// `to`: its end). IOB2: I-X only after B-X or I-X. IOBES: I-X/E-X only after B-X or I-X; B-X and
// I-X must be followed by I-X or E-X; nothing may start with I-/E- or end after B-/I-. IOB1 and
// plain tags allow everything.
bool tagTransitionAllowed(const std::string &from, const std::string &to, TagScheme scheme);

// The most likely tag sequence the scheme allows (Viterbi over per-word log-probabilities
// [words][labels], transitions 0 or −∞): a tagger's output with every invalid transition repaired
// by its own probabilities rather than by a rule. Returns label indices.
std::vector<int> constrainedDecode(const std::vector<std::vector<double>> &logProbs,
                                   const std::vector<std::string> &labels, TagScheme scheme);

} // namespace tunebench
