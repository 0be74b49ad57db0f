# Tripline as a static binary on a distroless base:
#   docker build -t tripline .
#   docker run --rm tripline --help
# The build stage compiles this repository with CGO disabled; the image holds the binary
# only (the rules come from a ConfigMap or a volume, see deploy/).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o /out/tripline ./cmd/tripline

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tripline /usr/local/bin/tripline
USER nonroot:nonroot
EXPOSE 9443
ENTRYPOINT ["/usr/local/bin/tripline"]
CMD ["--help"]
