// compute_ap: Oxford/Paris buildings average precision (classic protocol).
//
// Usage: compute_ap <gt_prefix> <ranked_list_file>
//
// Reads <gt_prefix>_good.txt, <gt_prefix>_ok.txt and <gt_prefix>_junk.txt (whitespace-separated image
// basenames). Positives are good U ok; junk items are skipped without consuming a rank. The ranked list holds
// image basenames, best first. AP is the trapezoidal area under the precision/recall curve, starting from
// recall 0 / precision 1. Prints the AP on one line ("nan" when there are no positives).
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

bool read_tokens(const std::string& path, std::vector<std::string>& out) {
    std::ifstream in(path);
    if (!in) {
        return false;
    }
    std::string token;
    while (in >> token) {
        out.push_back(token);
    }
    return true;
}

std::unordered_set<std::string> read_set(const std::string& path) {
    std::vector<std::string> tokens;
    if (!read_tokens(path, tokens)) {
        std::cerr << "compute_ap: cannot read ground-truth file " << path << std::endl;
        std::exit(1);
    }
    return std::unordered_set<std::string>(tokens.begin(), tokens.end());
}

double average_precision(const std::unordered_set<std::string>& positives,
                         const std::unordered_set<std::string>& junk,
                         const std::vector<std::string>& ranked) {
    const double n_pos = static_cast<double>(positives.size());
    double old_recall = 0.0;
    double old_precision = 1.0;
    double ap = 0.0;
    std::size_t hits = 0;
    std::size_t seen = 0;  // non-junk items before the current one
    for (const std::string& name : ranked) {
        if (junk.count(name) != 0) {
            continue;
        }
        if (positives.count(name) != 0) {
            ++hits;
        }
        const double recall = static_cast<double>(hits) / n_pos;
        const double precision = static_cast<double>(hits) / static_cast<double>(seen + 1);
        ap += (recall - old_recall) * (old_precision + precision) / 2.0;
        old_recall = recall;
        old_precision = precision;
        ++seen;
    }
    return ap;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: compute_ap <gt_prefix> <ranked_list_file>" << std::endl;
        return 1;
    }
    const std::string prefix = argv[1];
    std::unordered_set<std::string> positives = read_set(prefix + "_good.txt");
    const std::unordered_set<std::string> ok = read_set(prefix + "_ok.txt");
    positives.insert(ok.begin(), ok.end());
    const std::unordered_set<std::string> junk = read_set(prefix + "_junk.txt");

    std::vector<std::string> ranked;
    if (!read_tokens(argv[2], ranked)) {
        std::cerr << "compute_ap: cannot read ranked list " << argv[2] << std::endl;
        return 1;
    }
    if (positives.empty()) {
        std::cout << "nan" << std::endl;
        return 0;
    }
    std::cout << std::setprecision(10) << average_precision(positives, junk, ranked) << std::endl;
    return 0;
}
