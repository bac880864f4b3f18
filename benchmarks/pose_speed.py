"""Pose inference speed: HRNet-W32 256x192 top-down with the official flip test, images/s.

The benchmark lives in :mod:`hrvision.tasks.pose.bench` (also ``hrvision bench pose``, same flags):

    python benchmarks/pose_speed.py [--device cpu|cuda] [--batch 8] [--iters 5] [--channels-last]
           [--dtype float32|bfloat16|float16] [--threads N] [--no-timm] [--compile]
"""
from hrvision.tasks.pose.bench import main

if __name__ == '__main__':
    main()
