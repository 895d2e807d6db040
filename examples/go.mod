module github.com/idbridge/idbridge/examples

go 1.26.0

replace (
	github.com/idbridge/idbridge => ../
	github.com/idbridge/idbridge/integration => ../integration
)
