#pragma once

// The experiment schema's insides (for experiment.cpp and the field descriptions): one Field per
// dotted key, with how to read it from YAML (an error message or "") and write it back.
#include "core/config/experiment.h"

#include <functional>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace tunebench::config_schema {

struct Field
{
  std::string path;
  std::string kind; // number | integer | boolean | text | choice | list | map | tasks
  double lo = 0, hi = 0;
  std::vector<std::string> choices; // choice: the values; map: the keys
  std::function<std::string(const YAML::Node &, ExperimentConfig &)> read;
  std::function<YAML::Node(const ExperimentConfig &)> write;
};

const std::vector<Field> &schema();
const Field *findField(const std::string &path);
bool isSection(const std::string &path);
std::vector<std::string> childNames(const std::string &section); // "" = top level

std::string fmt(double v);
std::string joinChoices(const std::vector<std::string> &choices);

// What a field means, for tooltips and `tunebench config --explain` ("" when undocumented).
std::string fieldHelp(const std::string &path);

} // namespace tunebench::config_schema
