"""A plotly figure with bars and a line on a secondary axis, shown with fig.show()."""
import plotly.graph_objects as go
from plotly.subplots import make_subplots

months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
fig = make_subplots(specs=[[{"secondary_y": True}]])
fig.add_trace(go.Bar(x=months, y=[20, 14, 23, 25, 22, 30], name="orders"))
fig.add_trace(go.Scatter(x=months, y=[0.2, 0.25, 0.22, 0.3, 0.28, 0.35], name="conversion",
                         mode="lines+markers"), secondary_y=True)
fig.update_layout(title="Orders and conversion", template="plotly_white")
fig.show()
