"""The article's exchange-unit ablation (AP per HRNet exchange= final/across/full); same flags as
``hrvision bench ablation-exchange`` (the code lives in :mod:`hrvision.tasks.pose.ablations`)."""
from hrvision.tasks.pose.ablations import main_exchange

if __name__ == '__main__':
    main_exchange()
