"""The article's output-resolution ablation (AP per 1x/2x/4x/8x heatmaps); same flags as
``hrvision bench ablation-resolution`` (the code lives in :mod:`hrvision.tasks.pose.ablations`)."""
from hrvision.tasks.pose.ablations import main_resolution

if __name__ == '__main__':
    main_resolution()
