# syntax=docker/dockerfile:1
# Build: docker build --build-arg VERSION=$(git describe --tags --always) -t newswatch .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
ARG COMMIT=""
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/newswatch/newswatch/internal/buildinfo.version=${VERSION} -X github.com/newswatch/newswatch/internal/buildinfo.commit=${COMMIT}" \
      -o /out/ ./cmd/newswatch ./cmd/newswatch-slack

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/newswatch /out/newswatch-slack /usr/local/bin/
# Feed state and the embedded NATS store live under /data.
ENV STATE_DIRECTORY=/data
VOLUME /data
EXPOSE 4222 9780 9781
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["/usr/local/bin/newswatch", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/newswatch"]
CMD ["run", "-c", "/etc/newswatch/newswatch.yaml"]
