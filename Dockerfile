# syntax=docker/dockerfile:1
# argybargy in a FROM scratch image: the compiled binary, the five glibc files it links,
# /tmp, /data and a passwd entry, nothing else (no shell, no curl; the HEALTHCHECK uses the
# binary's own `health` command). scripts/rootfs decides every file that ships; CI runs the
# same script and boots the result in a chroot as uid 65532 (tests/e2e/rootfs.test.ts).
#   docker build -t argybargy .
#   docker run -d -p 127.0.0.1:8765:8765 -v argybargy-data:/data argybargy
#   docker exec <container> argybargy token      # the admin token

FROM node:20-bookworm-slim AS build
WORKDIR /src
# Dependencies first, so editing src/ does not reinstall them.
COPY package.json bun.lock bunfig.toml tsconfig.json ./
COPY scripts/ensure-bun scripts/ensure-bun
RUN scripts/ensure-bun
COPY src ./src
COPY scripts ./scripts
RUN scripts/build && scripts/rootfs dist/argybargy /rootfs

FROM scratch
COPY --from=build /rootfs/ /
# A second copy of the empty /data that states its owner, for builders that do not keep
# the build stage's ownership on COPY --from.
COPY --from=build --chown=65532:65532 /rootfs/data /data
USER 65532:65532
WORKDIR /data
ENV ARGYBARGY_DATA=/data ARGYBARGY_HOST=0.0.0.0
VOLUME /data
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/argybargy", "health"]
# The binary handles SIGTERM itself, also as PID 1 (SPEC §7.14): `docker stop` drains parked
# polls and exits 0, no --init needed.
ENTRYPOINT ["/usr/local/bin/argybargy"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8765"]
