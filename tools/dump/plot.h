// heapa-dump summary --png: the reward histogram as a PNG, drawn by matplotlib.
//
// Runs /usr/bin/python3 (Debian's python3-matplotlib, headless Agg backend) on the summary's
// JSON; no shell is involved. FailedPrecondition when Python or matplotlib is missing, IOError
// when the PNG cannot be written.
#ifndef HEAPA_TOOLS_DUMP_PLOT_H_
#define HEAPA_TOOLS_DUMP_PLOT_H_

#include <string>

#include "storage/status.h"
#include "tools/dump/summary.h"

namespace heapa::dump {

Status PlotSummaryPng(const PoolSummary& summary, const std::string& png_path);

}  // namespace heapa::dump

#endif  // HEAPA_TOOLS_DUMP_PLOT_H_
