#include <algorithm>
#include <cmath>
#include <vector>

#include "caffe/layers/lifted_struct_similarity_softmax_loss_layer.hpp"

namespace caffe {

template <typename Dtype>
void LiftedStructSimilaritySoftmaxLossLayer<Dtype>::Reshape(
    const vector<Blob<Dtype>*>& bottom, const vector<Blob<Dtype>*>& top) {
  // LossLayer::Reshape insists on equal num for both bottoms.
  LossLayer<Dtype>::Reshape(bottom, top);
  const int batch = bottom[0]->shape(0);
  CHECK_EQ(bottom[1]->count(), batch)
      << "LiftedStructSimilaritySoftmaxLoss: one label per sample expected";
  dist_.Reshape(vector<int>{batch, batch});
  pair_grad_.Reshape(vector<int>{batch, batch});
}

template <typename Dtype>
void LiftedStructSimilaritySoftmaxLossLayer<Dtype>::Forward_cpu(
    const vector<Blob<Dtype>*>& bottom, const vector<Blob<Dtype>*>& top) {
  const int batch = bottom[0]->shape(0);
  const int dim = batch > 0 ? bottom[0]->count() / batch : 0;
  const Dtype* f = bottom[0]->cpu_data();
  const Dtype* label = bottom[1]->cpu_data();
  const Dtype margin =
      this->layer_param_.lifted_struct_sim_softmax_loss_param().margin();
  Dtype* dist = dist_.mutable_cpu_data();
  Dtype* pg = pair_grad_.mutable_cpu_data();
  caffe_set(batch * batch, Dtype(0), pg);

  for (int a = 0; a < batch; ++a) {
    dist[a * batch + a] = 0;
    for (int b = a + 1; b < batch; ++b) {
      Dtype sq = 0;
      for (int d = 0; d < dim; ++d) {
        const Dtype t = f[a * dim + d] - f[b * dim + d];
        sq += t * t;
      }
      dist[a * batch + b] = dist[b * batch + a] = std::sqrt(sq);
    }
  }

  int num_pos = 0;
  for (int i = 0; i < batch; ++i) {
    for (int j = i + 1; j < batch; ++j) {
      if (label[i] == label[j]) ++num_pos;
    }
  }
  Dtype loss = 0;
  vector<Dtype> terms;
  vector<int> term_a, term_b;
  for (int i = 0; i < batch; ++i) {
    for (int j = i + 1; j < batch; ++j) {
      if (label[i] != label[j]) continue;
      // Negatives of i and of j, as (anchor, negative) pairs.
      terms.clear();
      term_a.clear();
      term_b.clear();
      for (int side = 0; side < 2; ++side) {
        const int a = side == 0 ? i : j;
        for (int k = 0; k < batch; ++k) {
          if (label[k] == label[a]) continue;
          terms.push_back(margin - dist[a * batch + k]);
          term_a.push_back(a);
          term_b.push_back(k);
        }
      }
      if (terms.empty()) continue;
      const Dtype top_term = *std::max_element(terms.begin(), terms.end());
      Dtype sum = 0;
      for (size_t t = 0; t < terms.size(); ++t) {
        terms[t] = std::exp(terms[t] - top_term);
        sum += terms[t];
      }
      const Dtype J = top_term + std::log(sum) + dist[i * batch + j];
      if (J <= 0) continue;
      loss += J * J;
      // d(J^2 / (2|P|)) / dJ = J / |P|
      const Dtype g = J / num_pos;
      pg[i * batch + j] += g;
      for (size_t t = 0; t < terms.size(); ++t) {
        pg[term_a[t] * batch + term_b[t]] -= g * terms[t] / sum;
      }
    }
  }
  top[0]->mutable_cpu_data()[0] = num_pos > 0 ? loss / (2 * num_pos) : 0;
}

template <typename Dtype>
void LiftedStructSimilaritySoftmaxLossLayer<Dtype>::Backward_cpu(
    const vector<Blob<Dtype>*>& top, const vector<bool>& propagate_down,
    const vector<Blob<Dtype>*>& bottom) {
  if (propagate_down[1]) {
    LOG(FATAL) << this->type() << " cannot backpropagate to the labels.";
  }
  if (!propagate_down[0]) {
    return;
  }
  const int batch = bottom[0]->shape(0);
  const int dim = batch > 0 ? bottom[0]->count() / batch : 0;
  const Dtype* f = bottom[0]->cpu_data();
  const Dtype* dist = dist_.cpu_data();
  const Dtype* pg = pair_grad_.cpu_data();
  const Dtype scale = top[0]->cpu_diff()[0];
  Dtype* df = bottom[0]->mutable_cpu_diff();
  caffe_set(bottom[0]->count(), Dtype(0), df);
  const Dtype tiny = Dtype(1e-12);
  for (int a = 0; a < batch; ++a) {
    for (int b = 0; b < batch; ++b) {
      const Dtype g = pg[a * batch + b];
      if (g == 0 || a == b) continue;
      // dD_ab/df_a = (f_a - f_b) / D_ab, dD_ab/df_b = -(f_a - f_b) / D_ab
      const Dtype k = scale * g / std::max(dist[a * batch + b], tiny);
      for (int d = 0; d < dim; ++d) {
        const Dtype t = k * (f[a * dim + d] - f[b * dim + d]);
        df[a * dim + d] += t;
        df[b * dim + d] -= t;
      }
    }
  }
}

INSTANTIATE_CLASS(LiftedStructSimilaritySoftmaxLossLayer);
REGISTER_LAYER_CLASS(LiftedStructSimilaritySoftmaxLoss);

}  // namespace caffe
