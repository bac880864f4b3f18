# PASCAL-Context, 60 classes (background evaluated as class 0): the layout of pascal_context.py, the stored
# ids 0..59 read as they are (no reduce_zero_label; 255 = ignore). Palette: the PASCAL VOC colour map.
dataset_info = dict(
    classes=(
             'background', 'aeroplane', 'bag', 'bed', 'bedclothes', 'bench',
             'bicycle', 'bird', 'boat', 'book', 'bottle', 'building',
             'bus', 'cabinet', 'car', 'cat', 'ceiling', 'chair',
             'cloth', 'computer', 'cow', 'cup', 'curtain', 'dog',
             'door', 'fence', 'floor', 'flower', 'food', 'grass',
             'ground', 'horse', 'keyboard', 'light', 'motorbike', 'mountain',
             'mouse', 'person', 'plate', 'platform', 'pottedplant', 'road',
             'rock', 'sheep', 'shelves', 'sidewalk', 'sign', 'sky',
             'snow', 'sofa', 'table', 'track', 'train', 'tree',
             'truck', 'tvmonitor', 'wall', 'water', 'window', 'wood',
    ),
    palette=[
             [0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128],
             [0, 128, 128], [128, 128, 128], [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0],
             [64, 0, 128], [192, 0, 128], [64, 128, 128], [192, 128, 128], [0, 64, 0], [128, 64, 0],
             [0, 192, 0], [128, 192, 0], [0, 64, 128], [128, 64, 128], [0, 192, 128], [128, 192, 128],
             [64, 64, 0], [192, 64, 0], [64, 192, 0], [192, 192, 0], [64, 64, 128], [192, 64, 128],
             [64, 192, 128], [192, 192, 128], [0, 0, 64], [128, 0, 64], [0, 128, 64], [128, 128, 64],
             [0, 0, 192], [128, 0, 192], [0, 128, 192], [128, 128, 192], [64, 0, 64], [192, 0, 64],
             [64, 128, 64], [192, 128, 64], [64, 0, 192], [192, 0, 192], [64, 128, 192], [192, 128, 192],
             [0, 64, 64], [128, 64, 64], [0, 192, 64], [128, 192, 64], [0, 64, 192], [128, 64, 192],
             [0, 192, 192], [128, 192, 192], [64, 64, 64], [192, 64, 64], [64, 192, 64], [192, 192, 64],
    ],
)
