# The official *_ohem_* variant: OHEM cross-entropy (thresh 0.9, min_kept 131072 per GPU).
_base_ = ['./hrnetv2_w48_cityscapes_512x1024.py']
model = dict(head=dict(loss='ohem', ohem_thresh=0.9, ohem_min_kept=131072))
