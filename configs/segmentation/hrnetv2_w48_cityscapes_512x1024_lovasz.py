# The official HRNetV2-W48 Cityscapes recipe plus segmentation-models-pytorch's Lovasz-softmax loss
# (weight 1.0) beside the class-weighted CE; the head's aux_loss also takes type='dice'.
_base_ = ['./hrnetv2_w48_cityscapes_512x1024.py']
model = dict(head=dict(aux_loss=dict(type='lovasz', weight=1.0)))
