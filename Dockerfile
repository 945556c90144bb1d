# casefile's service in a container: the HTTP API and the Zendesk sidebar, with the demo world.
#
#   docker build -t casefile .
#   docker run --rm -p 8000:8000 -e CASEFILE_SERVICE_TOKENS=sidebar=change-me casefile
#   open http://127.0.0.1:8000/app/#token=change-me
#
# The image installs the wheel (the same wheel tests/test_wheel.py builds and runs), so it holds
# exactly what a pip install holds: the demo world, runbooks, routing, the sidebar. Configure it
# like any install: environment variables (README's table) or a casefile.toml mounted at
# /home/casefile/casefile.toml. Investigations are kept in /home/casefile/data (a volume).

FROM python:3.11-slim AS wheel
WORKDIR /src
COPY . .
RUN pip install --no-cache-dir --disable-pip-version-check "setuptools>=69" wheel \
 && pip wheel --no-cache-dir --no-deps --no-build-isolation -w /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CASEFILE_DATABASE_URL=sqlite:////home/casefile/data/casefile.sqlite3
COPY --from=wheel /wheels/ /tmp/wheels/
RUN pip install --no-cache-dir --disable-pip-version-check /tmp/wheels/casefile-*.whl \
 && rm -rf /tmp/wheels \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin casefile
USER casefile
WORKDIR /home/casefile
# Load the demo world once at build time (its log rows are generated, then cached), so the
# service starts in about a second; and prove the installed command works.
RUN mkdir -p data \
 && casefile investigate "$(python -c 'import casefile; print(casefile.PACKAGE_DIR)')/examples/tickets/429-spike.json" -q --no-save > /dev/null
VOLUME ["/home/casefile/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
ENTRYPOINT ["casefile", "serve", "--host", "0.0.0.0", "--port", "8000"]
