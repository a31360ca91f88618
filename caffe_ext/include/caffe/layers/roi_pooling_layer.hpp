#ifndef CAFFE_ROI_POOLING_LAYER_HPP_
#define CAFFE_ROI_POOLING_LAYER_HPP_

#include <vector>

#include "caffe/blob.hpp"
#include "caffe/layer.hpp"
#include "caffe/proto/caffe.pb.h"

namespace caffe {

/**
 * @brief Max-pools every region of interest of a feature map into a fixed
 *        pooled_h x pooled_w grid (Fast R-CNN semantics).
 *
 * bottom[0]: feature map N x C x H x W.
 * bottom[1]: R x 5 regions (batch_index, x1, y1, x2, y2) in input pixels,
 *            ends inclusive. Coordinates are scaled by spatial_scale and
 *            rounded half away from zero.
 * top[0]:    R x C x pooled_h x pooled_w. An empty bin yields 0.
 * The position of each maximum is kept for the backward pass, which routes
 * the gradient to it (regions may overlap: gradients accumulate).
 */
template <typename Dtype>
class ROIPoolingLayer : public Layer<Dtype> {
 public:
  explicit ROIPoolingLayer(const LayerParameter& param)
      : Layer<Dtype>(param) {}
  virtual void LayerSetUp(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);
  virtual void Reshape(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);

  virtual inline const char* type() const { return "ROIPooling"; }
  virtual inline int ExactNumBottomBlobs() const { return 2; }
  virtual inline int ExactNumTopBlobs() const { return 1; }

 protected:
  virtual void Forward_cpu(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);
  virtual void Forward_gpu(const vector<Blob<Dtype>*>& bottom,
      const vector<Blob<Dtype>*>& top);
  virtual void Backward_cpu(const vector<Blob<Dtype>*>& top,
      const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom);
  virtual void Backward_gpu(const vector<Blob<Dtype>*>& top,
      const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom);

  int channels_;
  int height_;
  int width_;
  int pooled_h_;
  int pooled_w_;
  Dtype spatial_scale_;
  // Flat h * width + w index of each output's maximum, -1 for empty bins.
  Blob<int> argmax_;
};

}  // namespace caffe

#endif  // CAFFE_ROI_POOLING_LAYER_HPP_
