#pragma once

#include <QApplication>
#include <QChart>
#include <QPalette>

namespace tunebench {

// A new chart in the desktop's light or dark palette (the dark chart theme when the window colour
// is dark). Themed before any series or axis is added, so the pens the views set stay theirs.
inline QChart *themedChart()
{
  auto *chart = new QChart;
  if (QApplication::palette().color(QPalette::Window).lightness() < 128)
    chart->setTheme(QChart::ChartThemeDark);
  return chart;
}

} // namespace tunebench
