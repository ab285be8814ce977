#pragma once

#include <QString>
#include <QStringList>

#include <vector>

namespace tunebench {

// The experiment form's groups of fields (dotted keys), in the order shown: column 0 (model, task
// and data, splits and folds, cleaning, strategy) and column 1 (optimizer, schedule, batch,
// regularisation, precision, evaluation, augmentation).
struct FormGroup
{
  QString title;
  QStringList paths;
};
const std::vector<FormGroup> &formGroups(int column);

} // namespace tunebench
