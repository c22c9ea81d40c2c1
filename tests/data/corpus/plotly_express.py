import pandas as pd
import plotly.express as px

stocks = pd.read_csv("https://example.com/stocks.csv")
fig = px.line(stocks, x="date", y="close", color="ticker", title="Closing prices")
fig.update_layout(template="plotly_white")
fig.write_html("prices.html")
