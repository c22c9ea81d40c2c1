import argparse
import pandas as pd
import seaborn as sns
import matplotlib.pyplot as plt


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--bins", type=int, default=15)
    parser.add_argument("--out", default="hist.png")
    args = parser.parse_args()
    data = pd.read_csv(args.csv)
    sns.histplot(data=data, x="age", hue="sex", bins=args.bins)
    plt.title("Age by sex")
    plt.savefig(args.out)


if __name__ == "__main__":
    main()
