#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include "caffe/layers/roi_pooling_layer.hpp"

namespace caffe {

template <typename Dtype>
void ROIPoolingLayer<Dtype>::LayerSetUp(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  const ROIPoolingParameter& p = this->layer_param_.roi_pooling_param();
  CHECK_GT(p.pooled_h(), 0) << "roi_pooling_param.pooled_h must be > 0";
  CHECK_GT(p.pooled_w(), 0) << "roi_pooling_param.pooled_w must be > 0";
  pooled_h_ = p.pooled_h();
  pooled_w_ = p.pooled_w();
  spatial_scale_ = p.spatial_scale();
}

template <typename Dtype>
void ROIPoolingLayer<Dtype>::Reshape(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  CHECK_EQ(bottom[0]->num_axes(), 4) << "ROIPooling expects an N x C x H x W map";
  CHECK_EQ(bottom[1]->count() % 5, 0)
      << "ROIPooling: the rois blob must hold rows of 5 values";
  channels_ = bottom[0]->channels();
  height_ = bottom[0]->height();
  width_ = bottom[0]->width();
  const int num_rois = bottom[1]->count() / 5;
  top[0]->Reshape(num_rois, channels_, pooled_h_, pooled_w_);
  argmax_.Reshape(num_rois, channels_, pooled_h_, pooled_w_);
}

template <typename Dtype>
void ROIPoolingLayer<Dtype>::Forward_cpu(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top) {
  const Dtype* data = bottom[0]->cpu_data();
  const Dtype* rois = bottom[1]->cpu_data();
  const int num_rois = bottom[1]->count() / 5;
  const int batch = bottom[0]->num();
  const int map_size = height_ * width_;
  Dtype* out = top[0]->mutable_cpu_data();
  int* argmax = argmax_.mutable_cpu_data();

  for (int n = 0; n < num_rois; ++n) {
    const Dtype* roi = rois + n * 5;
    const int b = static_cast<int>(roi[0]);
    CHECK_GE(b, 0) << "ROIPooling: negative batch index in roi " << n;
    CHECK_LT(b, batch) << "ROIPooling: batch index of roi " << n
                       << " exceeds the batch size " << batch;
    const int x_start = static_cast<int>(std::round(roi[1] * spatial_scale_));
    const int y_start = static_cast<int>(std::round(roi[2] * spatial_scale_));
    const int x_end = static_cast<int>(std::round(roi[3] * spatial_scale_));
    const int y_end = static_cast<int>(std::round(roi[4] * spatial_scale_));
    const int roi_h = std::max(y_end - y_start + 1, 1);
    const int roi_w = std::max(x_end - x_start + 1, 1);
    const Dtype bin_h = static_cast<Dtype>(roi_h) / pooled_h_;
    const Dtype bin_w = static_cast<Dtype>(roi_w) / pooled_w_;

    for (int ph = 0; ph < pooled_h_; ++ph) {
      int hstart = static_cast<int>(std::floor(ph * bin_h)) + y_start;
      int hend = static_cast<int>(std::ceil((ph + 1) * bin_h)) + y_start;
      hstart = std::min(std::max(hstart, 0), height_);
      hend = std::min(std::max(hend, 0), height_);
      for (int pw = 0; pw < pooled_w_; ++pw) {
        int wstart = static_cast<int>(std::floor(pw * bin_w)) + x_start;
        int wend = static_cast<int>(std::ceil((pw + 1) * bin_w)) + x_start;
        wstart = std::min(std::max(wstart, 0), width_);
        wend = std::min(std::max(wend, 0), width_);
        const bool empty = hend <= hstart || wend <= wstart;
        for (int c = 0; c < channels_; ++c) {
          const Dtype* plane = data + (b * channels_ + c) * map_size;
          const int o = ((n * channels_ + c) * pooled_h_ + ph) * pooled_w_ + pw;
          if (empty) {
            out[o] = 0;
            argmax[o] = -1;
            continue;
          }
          Dtype best = -FLT_MAX;
          int best_idx = -1;
          for (int h = hstart; h < hend; ++h) {
            for (int w = wstart; w < wend; ++w) {
              const int i = h * width_ + w;
              if (plane[i] > best) {
                best = plane[i];
                best_idx = i;
              }
            }
          }
          out[o] = best;
          argmax[o] = best_idx;
        }
      }
    }
  }
}

template <typename Dtype>
void ROIPoolingLayer<Dtype>::Backward_cpu(const vector<Blob<Dtype>*>& top,
      const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom) {
  if (propagate_down[1]) {
    LOG(FATAL) << this->type() << " cannot backpropagate to the rois.";
  }
  if (!propagate_down[0]) {
    return;
  }
  const Dtype* top_diff = top[0]->cpu_diff();
  const Dtype* rois = bottom[1]->cpu_data();
  const int* argmax = argmax_.cpu_data();
  Dtype* diff = bottom[0]->mutable_cpu_diff();
  caffe_set(bottom[0]->count(), Dtype(0), diff);
  const int num_rois = bottom[1]->count() / 5;
  const int bins = pooled_h_ * pooled_w_;
  const int map_size = height_ * width_;
  for (int n = 0; n < num_rois; ++n) {
    const int b = static_cast<int>(rois[n * 5]);
    for (int c = 0; c < channels_; ++c) {
      Dtype* plane = diff + (b * channels_ + c) * map_size;
      const int base = (n * channels_ + c) * bins;
      for (int k = 0; k < bins; ++k) {
        const int idx = argmax[base + k];
        if (idx >= 0) {
          plane[idx] += top_diff[base + k];
        }
      }
    }
  }
}

#ifdef CPU_ONLY
STUB_GPU(ROIPoolingLayer);
#endif

INSTANTIATE_CLASS(ROIPoolingLayer);
REGISTER_LAYER_CLASS(ROIPooling);

}  // namespace caffe
