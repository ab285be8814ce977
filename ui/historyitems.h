#pragma once

#include <QString>
#include <QTableWidgetItem>

#include <cmath>

namespace tunebench {

// Numbers sort as numbers.
class NumberItem final : public QTableWidgetItem
{
public:
  // decimals < 0: up to 6 significant digits (integers stay integers).
  NumberItem(double v, int decimals)
    : QTableWidgetItem(!std::isfinite(v)                                          ? QStringLiteral("-")
                       : decimals < 0 && v == std::floor(v) && std::abs(v) < 1e15 ? QString::number(v, 'f', 0)
                       : decimals < 0                                             ? QString::number(v, 'g', 6)
                                      : QString::number(v, 'f', decimals))
  {
    setData(Qt::UserRole, v);
    setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  }
  bool operator<(const QTableWidgetItem &o) const override
  {
    return data(Qt::UserRole).toDouble() < o.data(Qt::UserRole).toDouble();
  }
};

} // namespace tunebench
