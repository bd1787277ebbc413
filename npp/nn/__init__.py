"""The paper's method: the NPP pre-filter, its QP-adaptive layers, the proxy codec and the
straight-through codec layer that trains NPP through a real codec."""
