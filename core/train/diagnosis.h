#pragma once

#include <string>
#include <vector>

namespace tunebench {

// Curves a run has produced so far.
struct TrainingCurves
{
  struct Point
  {
    long step = 0;
    double value = 0;
  };
  std::vector<Point> trainLoss;      // per optimizer step
  std::vector<Point> gradNorm;       // per optimizer step (before clipping)
  std::vector<Point> learningRate;   // per optimizer step
  std::vector<Point> validationLoss; // per evaluation
  std::vector<Point> validationMetric; // per evaluation (higher is better)
  long stepsPerEpoch = 0;
  double chanceMetric = 0; // the metric a majority-class guess gets (0 when unknown)
  bool finished = false;   // the run is over (under-fitting is only judged then, or after 2 epochs)
};

// One finding about a run: what, from which step, why we think so, what to do.
struct Diagnosis
{
  enum class Kind { Overfitting, Underfitting, Instability, ExplodingGradients, VanishingGradients,
                    LearningRateTooHigh, LearningRateTooLow, NonFinite };
  Kind kind = Kind::Overfitting;
  long step = 0;             // where it began
  std::string title;         // "Over-fitting"
  std::string evidence;      // the numbers behind it
  std::vector<std::string> remedies;
  bool critical = false;     // the run should stop (NaN/Inf, divergence)
};

std::string diagnosisKindName(Diagnosis::Kind kind);

// Reads the curves: over-fitting (validation loss rising for `patience` evaluations in a row while
// the training loss falls; the gap), under-fitting (training loss flat, or validation metric at
// chance), instability (loss spikes, oscillation), exploding/vanishing gradients, learning rate
// too high (loss rising early, divergence) or too low (almost no progress). Each finding is
// reported once, from the step where it began.
std::vector<Diagnosis> diagnose(const TrainingCurves &curves, int patience = 2);

} // namespace tunebench
