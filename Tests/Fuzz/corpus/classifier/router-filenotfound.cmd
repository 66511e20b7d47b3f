python3 router_demo.py hi
